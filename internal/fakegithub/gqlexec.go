package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
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
func (e *execution) validate(typ string, sels ast.SelectionSet, depth int) {
	if depth > 30 {
		return
	}
	for _, sel := range sels {
		switch s := sel.(type) {
		case *ast.FragmentSpread:
			e.checkDirectives(s.Directives, s.Position)
			f := e.doc.Fragments.ForName(s.Name)
			if f == nil {
				e.fail(s.Position, nil, "Fragment %s was used, but not defined", s.Name)
			} else if !knownType(f.TypeCondition) {
				e.fail(s.Position, nil, "No such type %s, so it can't be a fragment condition", f.TypeCondition)
			} else {
				e.validate(f.TypeCondition, f.SelectionSet, depth+1)
			}
		case *ast.InlineFragment:
			e.checkDirectives(s.Directives, s.Position)
			cond := s.TypeCondition
			if cond == "" {
				cond = typ
			}
			if !knownType(cond) {
				e.fail(s.Position, nil, "No such type %s, so it can't be a fragment condition", cond)
				continue
			}
			e.validate(cond, s.SelectionSet, depth+1)
		case *ast.Field:
			e.checkDirectives(s.Directives, s.Position)
			if s.Name != "__typename" {
				e.validateField(typ, s, depth)
			}
		}
	}
}

func (e *execution) validateField(typ string, s *ast.Field, depth int) {
	def, ok := schema[typ][s.Name]
	if typ == "Node" {
		def, ok = fieldDef{"ID", ""}, s.Name == "id"
	}
	if !ok {
		e.fail(s.Position, map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": s.Name},
			"Field '%s' doesn't exist on type '%s'", s.Name, typ)
		return
	}
	declared := map[string]bool{}
	var missing []string
	for _, a := range strings.Fields(def.args) {
		name, required := strings.CutSuffix(a, "!")
		declared[name] = true
		if required && s.Arguments.ForName(name) == nil {
			missing = append(missing, name)
		}
	}
	for _, a := range s.Arguments {
		if !declared[a.Name] {
			e.fail(s.Position, map[string]any{"code": "argumentNotAccepted", "name": s.Name, "typeName": "Field", "argumentName": a.Name},
				"Field '%s' doesn't accept argument '%s'", s.Name, a.Name)
		}
		e.checkVars(a.Value, s.Position)
	}
	if len(missing) > 0 {
		e.fail(s.Position, map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": s.Name,
			"arguments": strings.Join(missing, ", ")},
			"Field '%s' is missing required arguments: %s", s.Name, strings.Join(missing, ", "))
	}
	inner := strings.Trim(def.typ, "[]")
	switch {
	case schema[inner] == nil && len(s.SelectionSet) > 0:
		e.fail(s.Position, nil, "Selections can't be made on scalars (field '%s' returns %s but has selections [%s])",
			s.Name, inner, strings.Join(fieldNames(s.SelectionSet), ", "))
	case schema[inner] != nil && len(s.SelectionSet) == 0:
		e.fail(s.Position, nil, "Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)",
			s.Name, inner, s.Name)
	case schema[inner] != nil:
		e.validate(inner, s.SelectionSet, depth+1)
	}
}

// checkDirectives reports undeclared variables in directive arguments.
func (e *execution) checkDirectives(dirs ast.DirectiveList, at *ast.Position) {
	for _, d := range dirs {
		for _, a := range d.Arguments {
			e.checkVars(a.Value, at)
		}
	}
}

// checkVars reports variables used in v but not declared.
func (e *execution) checkVars(v *ast.Value, at *ast.Position) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		e.used[v.Raw] = true
		if _, ok := e.declared[v.Raw]; !ok {
			e.fail(at, nil, "Variable $%s is used by %s but not declared", v.Raw, e.opLabel())
		}
	}
	for _, c := range v.Children {
		e.checkVars(c.Value, at)
	}
}

func fieldNames(sels ast.SelectionSet) []string {
	var out []string
	for _, s := range sels {
		if f, ok := s.(*ast.Field); ok {
			out = append(out, f.Name)
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
func (e *execution) collect(typ string, sels ast.SelectionSet, keys *[]string, groups map[string][]*ast.Field, depth int) {
	if depth > 30 {
		return
	}
	for _, sel := range sels {
		switch s := sel.(type) {
		case *ast.FragmentSpread:
			if f := e.doc.Fragments.ForName(s.Name); e.included(s.Directives) && f != nil && typeMatches(typ, f.TypeCondition) {
				e.collect(typ, f.SelectionSet, keys, groups, depth+1)
			}
		case *ast.InlineFragment:
			if e.included(s.Directives) && typeMatches(typ, s.TypeCondition) {
				e.collect(typ, s.SelectionSet, keys, groups, depth+1)
			}
		case *ast.Field:
			if !e.included(s.Directives) {
				continue
			}
			k := s.Alias // gqlparser sets it to the name when there is no alias
			if k == "" {
				k = s.Name
			}
			if _, ok := groups[k]; !ok {
				*keys = append(*keys, k)
			}
			groups[k] = append(groups[k], s)
		}
	}
}

// included applies @skip and @include.
func (e *execution) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		var v bool
		if a := d.Arguments.ForName("if"); a != nil {
			v, _ = e.value(a.Value).(bool)
		}
		if (d.Name == "skip" && v) || (d.Name == "include" && !v) {
			return false
		}
	}
	return true
}

// selectObject resolves sels on obj.
func (e *execution) selectObject(obj gqlObject, sels ast.SelectionSet, path []any) *omap {
	typ := obj.typeName()
	var keys []string
	groups := map[string][]*ast.Field{}
	e.collect(typ, sels, &keys, groups, 0)
	out := &omap{}
	for _, k := range keys {
		fields := groups[k]
		f := fields[0]
		if f.Name == "__typename" {
			out.set(k, typ)
			continue
		}
		args := map[string]any{}
		for _, a := range f.Arguments {
			args[a.Name] = e.value(a.Value)
		}
		var sub ast.SelectionSet
		for _, x := range fields {
			sub = append(sub, x.SelectionSet...)
		}
		here := append(append([]any(nil), path...), k)
		v, gerr := e.resolve(obj, f.Name, args)
		if gerr != nil {
			gerr.Path, gerr.Locations = here, []pos{at(f.Position)}
			e.errs = append(e.errs, *gerr)
			out.set(k, nil)
			continue
		}
		out.set(k, e.complete(v, sub, here))
	}
	return out
}

// complete turns a resolved value into JSON, selecting into objects.
func (e *execution) complete(v any, sub ast.SelectionSet, path []any) any {
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

// value evaluates a literal against the variables: integers as int64,
// floats as float64, enums as their names.
func (e *execution) value(v *ast.Value) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		return e.vars[v.Raw]
	case ast.IntValue:
		n, _ := strconv.ParseInt(v.Raw, 10, 64)
		return n
	case ast.FloatValue:
		f, _ := strconv.ParseFloat(v.Raw, 64)
		return f
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.ListValue:
		out := make([]any, len(v.Children))
		for i, c := range v.Children {
			out[i] = e.value(c.Value)
		}
		return out
	case ast.ObjectValue:
		out := map[string]any{}
		for _, c := range v.Children {
			out[c.Name] = e.value(c.Value)
		}
		return out
	}
	return nil
}

func (e *execution) fail(where *ast.Position, ext map[string]any, format string, args ...any) {
	e.errs = append(e.errs, gqlError{Extensions: ext, Locations: []pos{at(where)}, Message: fmt.Sprintf(format, args...)})
}

func (e *execution) opLabel() string {
	if e.op.Name != "" {
		return e.op.Name
	}
	return "anonymous " + string(e.op.Operation)
}
