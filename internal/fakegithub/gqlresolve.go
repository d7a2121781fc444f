package fakegithub

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

// htmlBase prefixes the web URLs in GraphQL replies (url, commitUrl). It
// is github.com's, not the fake's own address, because the dashboard reads
// commit ids out of commitUrl only when the URL contains "github.com".
const htmlBase = "https://github.com"

// The objects the resolvers return; each names its GraphQL type.
type (
	queryRoot    struct{}
	mutationRoot struct{}
	userObj      struct{ u User }
	orgObj       struct{ login string }
	refObj       struct {
		g            *gitRepo
		prefix, name string // "refs/heads/" or "refs/tags/", and the short name
	}
	refConn struct {
		refs    []*refObj
		total   int
		hasNext bool
	}
	refEdge     struct{ r *refObj }
	historyConn struct {
		commits []*commit
		total   int
		hasNext bool
	}
	pageInfo struct {
		hasNext    bool
		start, end string
	}
	rateObj    struct{ reset time.Time }
	payloadObj struct {
		typ    string
		cmid   any
		ref    *refObj
		commit *commitObj
	}
)

func (queryRoot) typeName() string     { return "Query" }
func (mutationRoot) typeName() string  { return "Mutation" }
func (*userObj) typeName() string      { return "User" }
func (*orgObj) typeName() string       { return "Organization" }
func (*gitRepo) typeName() string      { return "Repository" }
func (*refObj) typeName() string       { return "Ref" }
func (*refConn) typeName() string      { return "RefConnection" }
func (*refEdge) typeName() string      { return "RefEdge" }
func (*historyConn) typeName() string  { return "CommitHistoryConnection" }
func (*pageInfo) typeName() string     { return "PageInfo" }
func (*rateObj) typeName() string      { return "RateLimit" }
func (p *payloadObj) typeName() string { return p.typ }

// unserved is the answer for a field of the schema the fake does not
// implement (GitHub would answer it): an error, so that a test relying on
// it fails instead of reading a made-up null.
func unserved(obj gqlObject, field string) *gqlError {
	return &gqlError{Message: fmt.Sprintf("the fake GitHub does not serve %s.%s", obj.typeName(), field)}
}

// resolve returns field of obj: a scalar, nil, a gqlObject or a list of
// them. A non-nil error nulls the field and is reported with its path.
func (e *execution) resolve(obj gqlObject, field string, args map[string]any) (any, *gqlError) {
	switch o := obj.(type) {
	case queryRoot:
		return e.queryField(field, args)
	case mutationRoot:
		input, _ := args["input"].(map[string]any)
		switch field {
		case "createRef":
			return e.createRef(input)
		case "createCommitOnBranch":
			return e.createCommitOnBranch(input)
		}
	case *gitRepo:
		return e.repoField(o, field, args)
	case *userObj:
		return e.userField(o, field)
	case *orgObj:
		return e.orgField(o, field)
	case *refObj:
		return e.refField(o, field)
	case *refConn, *refEdge, *historyConn, *pageInfo:
		if v, ok := e.connectionField(obj, field); ok {
			return v, nil
		}
	case *rateObj:
		if v, ok := map[string]any{"limit": 5000, "cost": 1, "remaining": 4999, "used": 1, "nodeCount": 1,
			"resetAt": o.reset.Format(time.RFC3339)}[field]; ok {
			return v, nil
		}
	case *payloadObj:
		switch field {
		case "clientMutationId":
			return o.cmid, nil
		case "ref":
			return o.ref, nil
		case "commit":
			return o.commit, nil
		}
	case *entryObj:
		return e.entryField(o, field)
	case gitObject:
		return e.gitObjectField(o, field, args)
	case introspected:
		return o.field(e, field, args)
	}
	return nil, unserved(obj, field)
}

func (e *execution) queryField(field string, args map[string]any) (any, *gqlError) {
	switch field {
	case "repository":
		owner, _ := args["owner"].(string)
		name, _ := args["name"].(string)
		if !e.g.named(owner, name) || (e.g.Private && !e.tok.hasScope("repo")) {
			return nil, &gqlError{Type: "NOT_FOUND",
				Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}
		}
		return e.g, nil
	case "viewer":
		return &userObj{e.tok.user}, nil
	case "rateLimit":
		return &rateObj{e.s.now().Add(time.Hour).UTC().Truncate(time.Second)}, nil
	case "__schema":
		return schemaObj{}, nil
	case "__type":
		name, _ := args["name"].(string)
		if d := e.schema.Types[name]; d != nil {
			return &typeObj{def: d}, nil
		}
		return nil, nil
	}
	return nil, unserved(queryRoot{}, field)
}

func (e *execution) userField(o *userObj, field string) (any, *gqlError) {
	switch field {
	case "id":
		return userNodeID(o.u), nil
	case "databaseId":
		return o.u.ID, nil
	case "login":
		return o.u.Login, nil
	case "name":
		return nullable(o.u.Name), nil
	case "email":
		return o.u.Email, nil // GitHub: "" when the address is private
	case "avatarUrl":
		return avatarURL(o.u), nil
	case "url":
		return htmlBase + "/" + o.u.Login, nil
	}
	return nil, unserved(o, field)
}

func (e *execution) orgField(o *orgObj, field string) (any, *gqlError) {
	switch field {
	case "id":
		return nodeID("O", o.login), nil
	case "databaseId":
		return numericID(o.login), nil
	case "login":
		return o.login, nil
	case "name":
		return o.login, nil
	case "avatarUrl":
		return avatarURL(User{ID: numericID(o.login)}), nil
	case "url":
		return htmlBase + "/" + o.login, nil
	}
	return nil, unserved(o, field)
}

func (e *execution) refField(o *refObj, field string) (any, *gqlError) {
	switch field {
	case "id":
		return nodeID("REF", o.g.ID+"/"+o.prefix+o.name), nil
	case "name":
		return o.name, nil
	case "prefix":
		return o.prefix, nil
	case "target":
		if t := o.g.tags[o.name]; o.prefix == tagsPrefix && t != nil {
			return &tagObj{o.g, t}, nil
		}
		return &commitObj{o.g, o.g.branches[o.name]}, nil
	case "repository":
		return o.g, nil
	}
	return nil, unserved(o, field)
}

// connectionField answers the fields of refs and history connections.
func (e *execution) connectionField(obj gqlObject, field string) (any, bool) {
	switch o := obj.(type) {
	case *refConn:
		var nodes, edges []gqlObject
		for _, r := range o.refs {
			nodes, edges = append(nodes, r), append(edges, &refEdge{r})
		}
		p := &pageInfo{hasNext: o.hasNext}
		if len(o.refs) > 0 {
			p.start, p.end = cursor(o.refs[0].name), cursor(o.refs[len(o.refs)-1].name)
		}
		v, ok := map[string]any{"nodes": nodes, "edges": edges, "totalCount": o.total, "pageInfo": p}[field]
		return v, ok
	case *refEdge:
		v, ok := map[string]any{"node": o.r, "cursor": cursor(o.r.name)}[field]
		return v, ok
	case *historyConn:
		var nodes []gqlObject
		for _, c := range o.commits {
			nodes = append(nodes, &commitObj{e.g, c})
		}
		p := &pageInfo{hasNext: o.hasNext}
		if n := len(o.commits); n > 0 {
			p.start, p.end = cursor(o.commits[0].oid+" 0"), cursor(fmt.Sprintf("%s %d", o.commits[0].oid, n-1))
		}
		v, ok := map[string]any{"nodes": nodes, "totalCount": o.total, "pageInfo": p}[field]
		return v, ok
	case *pageInfo:
		v, ok := map[string]any{"hasNextPage": o.hasNext, "hasPreviousPage": false,
			"startCursor": nullable(o.start), "endCursor": nullable(o.end)}[field]
		return v, ok
	}
	return nil, false
}

func (e *execution) repoField(g *gitRepo, field string, args map[string]any) (any, *gqlError) {
	str := func(k string) string { s, _ := args[k].(string); return s }
	switch field {
	case "id":
		return g.ID, nil
	case "databaseId":
		return g.databaseID(), nil
	case "name":
		return g.Name, nil
	case "nameWithOwner":
		return g.Owner + "/" + g.Name, nil
	case "owner":
		if g.Organization {
			return &orgObj{g.Owner}, nil
		}
		u := User{Login: g.Owner}
		if strings.EqualFold(e.tok.user.Login, g.Owner) {
			u = e.tok.user
		}
		return &userObj{u}, nil
	case "isPrivate":
		return g.Private, nil
	case "visibility":
		return map[bool]string{true: "PRIVATE", false: "PUBLIC"}[g.Private], nil
	case "url":
		return htmlBase + "/" + g.Owner + "/" + g.Name, nil
	case "viewerPermission":
		return "ADMIN", nil
	case "defaultBranchRef":
		return &refObj{g, headsPrefix, g.DefaultBranch}, nil
	case "object":
		if expr := str("expression"); expr != "" {
			if o := g.object(expr); o != nil {
				return o, nil
			}
		} else if c := g.commits[str("oid")]; c != nil {
			return &commitObj{g, c}, nil
		}
		return nil, nil
	case "ref":
		return g.ref(str("qualifiedName")), nil
	case "refs":
		return e.refs(g, args), nil
	}
	return nil, unserved(g, field)
}

// refs lists branches (refPrefix "refs/heads/") or tags ("refs/tags/")
// whose names contain query, in name order; first and last are checked
// before execution (gqlrules.go).
func (e *execution) refs(g *gitRepo, args map[string]any) *refConn {
	prefix, _ := args["refPrefix"].(string)
	query, _ := args["query"].(string)
	var names []string
	switch prefix {
	case headsPrefix:
		for n := range g.branches {
			names = append(names, n)
		}
	case tagsPrefix:
		for n := range g.tags {
			names = append(names, n)
		}
	}
	names = filter(names, func(n string) bool { return strings.Contains(strings.ToLower(n), strings.ToLower(query)) })
	sort.Strings(names)
	total := len(names)
	first, hasFirst := jsonvalue.Integer(args["first"])
	last, _ := jsonvalue.Integer(args["last"])
	if hasFirst && int(first) < len(names) {
		names = names[:first]
	} else if !hasFirst && int(last) < len(names) {
		names = names[len(names)-int(last):]
	}
	conn := &refConn{total: total, hasNext: hasFirst && len(names) < total}
	for _, n := range names {
		conn.refs = append(conn.refs, &refObj{g, prefix, n})
	}
	return conn
}

func filter(xs []string, keep func(string) bool) []string {
	var out []string
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
