package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// fieldDef is a field of the schema: its type ("Ref", "[TreeEntry]") and
// its arguments, required ones marked with "!".
type fieldDef struct {
	typ  string
	args string
}

// gitObjectFields are GitObject's fields, shared by its implementations.
var gitObjectFields = map[string]fieldDef{
	"id": {"ID", ""}, "oid": {"GitObjectID", ""}, "abbreviatedOid": {"String", ""},
	"commitUrl": {"URI", ""}, "commitResourcePath": {"URI", ""}, "repository": {"Repository", ""},
}

// schema is the part of GitHub's GraphQL schema the fake implements: what
// Outstatic's dashboard uses, plus the obvious neighbours. Fields outside
// it fail validation exactly as unknown fields do on GitHub.
var schema = map[string]map[string]fieldDef{
	"Query": {
		"repository": {"Repository", "owner! name! followRenames"},
		"viewer":     {"User", ""},
		"rateLimit":  {"RateLimit", "dryRun"},
	},
	"Mutation": {
		"createRef":            {"CreateRefPayload", "input!"},
		"createCommitOnBranch": {"CreateCommitOnBranchPayload", "input!"},
	},
	"Repository": {
		"id": {"ID", ""}, "databaseId": {"Int", ""}, "name": {"String", ""}, "nameWithOwner": {"String", ""},
		"owner": {"RepositoryOwner", ""}, "isPrivate": {"Boolean", ""}, "visibility": {"RepositoryVisibility", ""},
		"url": {"URI", ""}, "defaultBranchRef": {"Ref", ""}, "object": {"GitObject", "expression oid"},
		"ref": {"Ref", "qualifiedName!"}, "viewerPermission": {"RepositoryPermission", ""},
		"refs": {"RefConnection", "first last after before refPrefix! query direction orderBy"},
	},
	"RepositoryOwner": {"id": {"ID", ""}, "login": {"String", ""}, "url": {"URI", ""}, "avatarUrl": {"URI", "size"}},
	"User": {
		"id": {"ID", ""}, "databaseId": {"Int", ""}, "login": {"String", ""}, "name": {"String", ""},
		"email": {"String", ""}, "avatarUrl": {"URI", "size"}, "url": {"URI", ""},
	},
	"Ref": {
		"id": {"ID", ""}, "name": {"String", ""}, "prefix": {"String", ""}, "target": {"GitObject", ""},
		"repository": {"Repository", ""},
	},
	"RefConnection": {"nodes": {"[Ref]", ""}, "edges": {"[RefEdge]", ""}, "totalCount": {"Int", ""}, "pageInfo": {"PageInfo", ""}},
	"RefEdge":       {"node": {"Ref", ""}, "cursor": {"String", ""}},
	"PageInfo": {"hasNextPage": {"Boolean", ""}, "hasPreviousPage": {"Boolean", ""},
		"startCursor": {"String", ""}, "endCursor": {"String", ""}},
	"GitObject": gitObjectFields,
	"Commit": with(gitObjectFields, map[string]fieldDef{
		"message": {"String", ""}, "messageHeadline": {"String", ""}, "committedDate": {"DateTime", ""},
		"url": {"URI", ""}, "tree": {"Tree", ""}, "history": {"CommitHistoryConnection", "first last after before path"},
	}),
	"CommitHistoryConnection": {"nodes": {"[Commit]", ""}, "totalCount": {"Int", ""}, "pageInfo": {"PageInfo", ""}},
	"Tree":                    with(gitObjectFields, map[string]fieldDef{"entries": {"[TreeEntry]", ""}}),
	"Blob": with(gitObjectFields, map[string]fieldDef{"text": {"String", ""}, "byteSize": {"Int", ""},
		"isBinary": {"Boolean", ""}, "isTruncated": {"Boolean", ""}}),
	"TreeEntry": {
		"name": {"String", ""}, "path": {"String", ""}, "type": {"String", ""}, "mode": {"Int", ""},
		"oid": {"GitObjectID", ""}, "object": {"GitObject", ""}, "extension": {"String", ""},
		"isGenerated": {"Boolean", ""}, "size": {"Int", ""}, "repository": {"Repository", ""},
	},
	"RateLimit": {"limit": {"Int", ""}, "cost": {"Int", ""}, "remaining": {"Int", ""}, "used": {"Int", ""},
		"resetAt": {"DateTime", ""}, "nodeCount": {"Int", ""}},
	"CreateRefPayload":            {"clientMutationId": {"String", ""}, "ref": {"Ref", ""}},
	"CreateCommitOnBranchPayload": {"clientMutationId": {"String", ""}, "commit": {"Commit", ""}, "ref": {"Ref", ""}},
}

// interfaces lists, per concrete type, the abstract types it belongs to.
var interfaces = map[string][]string{
	"Commit": {"GitObject", "Node"}, "Tree": {"GitObject", "Node"}, "Blob": {"GitObject", "Node"},
	"User": {"RepositoryOwner", "Node"}, "Repository": {"Node"}, "Ref": {"Node"},
}

func with(base, extra map[string]fieldDef) map[string]fieldDef {
	out := map[string]fieldDef{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// typeMatches reports whether an object of concrete type t satisfies the
// fragment condition cond.
func typeMatches(t, cond string) bool {
	if cond == "" || cond == t {
		return true
	}
	for _, i := range interfaces[t] {
		if i == cond {
			return true
		}
	}
	return false
}

func knownType(t string) bool { return schema[t] != nil || t == "Node" }

// gqlError is one entry of a GraphQL reply's "errors".
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []pos          `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

// validate checks sels against type typ as GitHub's validator would,
// before anything runs, so a bad query gets errors and no data.
func (e *execution) validate(typ string, sels []selection, depth int) {
	if depth > 30 {
		return
	}
	for _, s := range sels {
		for _, d := range s.dirs {
			e.checkVars(d.val, s.loc)
		}
		switch {
		case s.spread != "":
			f := e.doc.frags[s.spread]
			if f == nil {
				e.fail(s.loc, nil, "Fragment %s was used, but not defined", s.spread)
			} else if !knownType(f.typeCond) {
				e.fail(s.loc, nil, "No such type %s, so it can't be a fragment condition", f.typeCond)
			} else {
				e.validate(f.typeCond, f.sel, depth+1)
			}
		case s.inline:
			cond := s.typeCond
			if cond == "" {
				cond = typ
			}
			if !knownType(cond) {
				e.fail(s.loc, nil, "No such type %s, so it can't be a fragment condition", cond)
				continue
			}
			e.validate(cond, s.sel, depth+1)
		case s.name == "__typename":
		default:
			e.validateField(typ, s, depth)
		}
	}
}

func (e *execution) validateField(typ string, s selection, depth int) {
	def, ok := schema[typ][s.name]
	if typ == "Node" {
		def, ok = fieldDef{"ID", ""}, s.name == "id"
	}
	if !ok {
		e.fail(s.loc, map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": s.name},
			"Field '%s' doesn't exist on type '%s'", s.name, typ)
		return
	}
	declared := map[string]bool{}
	var missing []string
	for _, a := range strings.Fields(def.args) {
		name, required := strings.CutSuffix(a, "!")
		declared[name] = true
		if required && !hasArg(s.args, name) {
			missing = append(missing, name)
		}
	}
	for _, a := range s.args {
		if !declared[a.name] {
			e.fail(s.loc, map[string]any{"code": "argumentNotAccepted", "name": s.name, "typeName": "Field", "argumentName": a.name},
				"Field '%s' doesn't accept argument '%s'", s.name, a.name)
		}
		e.checkVars(a.val, s.loc)
	}
	if len(missing) > 0 {
		e.fail(s.loc, map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": s.name,
			"arguments": strings.Join(missing, ", ")},
			"Field '%s' is missing required arguments: %s", s.name, strings.Join(missing, ", "))
	}
	inner := strings.Trim(def.typ, "[]")
	switch {
	case schema[inner] == nil && len(s.sel) > 0:
		e.fail(s.loc, nil, "Selections can't be made on scalars (field '%s' returns %s but has selections [%s])",
			s.name, inner, strings.Join(fieldNames(s.sel), ", "))
	case schema[inner] != nil && len(s.sel) == 0:
		e.fail(s.loc, nil, "Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)",
			s.name, inner, s.name)
	case schema[inner] != nil:
		e.validate(inner, s.sel, depth+1)
	}
}

// checkVars reports variables used in v but not declared.
func (e *execution) checkVars(v any, loc pos) {
	switch v := v.(type) {
	case varRef:
		e.used[string(v)] = true
		if _, ok := e.declared[string(v)]; !ok {
			e.fail(loc, nil, "Variable $%s is used by %s but not declared", v, e.opLabel())
		}
	case []any:
		for _, x := range v {
			e.checkVars(x, loc)
		}
	case map[string]any:
		for _, x := range v {
			e.checkVars(x, loc)
		}
	}
}

func hasArg(args []argument, name string) bool {
	for _, a := range args {
		if a.name == name {
			return true
		}
	}
	return false
}

func fieldNames(sels []selection) []string {
	var out []string
	for _, s := range sels {
		if s.name != "" {
			out = append(out, s.name)
		}
	}
	return out
}

// omap is a JSON object that keeps its keys in selection order, as
// GitHub's replies do.
type omap struct {
	keys []string
	vals []any
}

func (m *omap) set(k string, v any) { m.keys, m.vals = append(m.keys, k), append(m.vals, v) }

// MarshalJSON writes the keys in insertion order.
func (m *omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// collect groups the fields of sels that apply to an object of type typ
// by response key, in order, merging repeated keys' sub-selections.
func (e *execution) collect(typ string, sels []selection, keys *[]string, groups map[string][]selection, depth int) {
	for _, s := range sels {
		if !e.included(s.dirs) || depth > 30 {
			continue
		}
		switch {
		case s.spread != "":
			if f := e.doc.frags[s.spread]; f != nil && typeMatches(typ, f.typeCond) {
				e.collect(typ, f.sel, keys, groups, depth+1)
			}
		case s.inline:
			if typeMatches(typ, s.typeCond) {
				e.collect(typ, s.sel, keys, groups, depth+1)
			}
		default:
			k := s.alias
			if k == "" {
				k = s.name
			}
			if _, ok := groups[k]; !ok {
				*keys = append(*keys, k)
			}
			groups[k] = append(groups[k], s)
		}
	}
}

// included applies @skip and @include.
func (e *execution) included(dirs []argument) bool {
	for _, d := range dirs {
		v, _ := e.value(d.val).(bool)
		if (d.name == "skip" && v) || (d.name == "include" && !v) {
			return false
		}
	}
	return true
}

// selectObject resolves sels on obj.
func (e *execution) selectObject(obj gqlObject, sels []selection, path []any) *omap {
	typ := obj.typeName()
	var keys []string
	groups := map[string][]selection{}
	e.collect(typ, sels, &keys, groups, 0)
	out := &omap{}
	for _, k := range keys {
		fields := groups[k]
		f := fields[0]
		if f.name == "__typename" {
			out.set(k, typ)
			continue
		}
		args := map[string]any{}
		for _, a := range f.args {
			args[a.name] = e.value(a.val)
		}
		var sub []selection
		for _, x := range fields {
			sub = append(sub, x.sel...)
		}
		here := append(append([]any(nil), path...), k)
		v, gerr := e.resolve(obj, f.name, args)
		if gerr != nil {
			gerr.Path, gerr.Locations = here, []pos{f.loc}
			e.errs = append(e.errs, *gerr)
			out.set(k, nil)
			continue
		}
		out.set(k, e.complete(v, sub, here))
	}
	return out
}

// complete turns a resolved value into JSON, selecting into objects.
func (e *execution) complete(v any, sub []selection, path []any) any {
	switch v := v.(type) {
	case gqlObject:
		return e.selectObject(v, sub, path)
	case []gqlObject:
		list := make([]any, len(v))
		for i, o := range v {
			list[i] = e.selectObject(o, sub, append(append([]any(nil), path...), i))
		}
		return list
	}
	return v
}

// value evaluates a literal against the variables.
func (e *execution) value(v any) any {
	switch v := v.(type) {
	case varRef:
		return e.vars[string(v)]
	case enumVal:
		return string(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = e.value(x)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = e.value(x)
		}
		return out
	}
	return v
}

func (e *execution) fail(loc pos, ext map[string]any, format string, args ...any) {
	e.errs = append(e.errs, gqlError{Extensions: ext, Locations: []pos{loc}, Message: fmt.Sprintf(format, args...)})
}

func (e *execution) opLabel() string {
	if e.op.name != "" {
		return e.op.name
	}
	return "anonymous " + e.op.kind
}
