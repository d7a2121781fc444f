package fakegithub

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// htmlBase prefixes the web URLs in GraphQL replies (url, commitUrl). It
// is github.com's, not the fake's own address, because the dashboard reads
// commit ids out of commitUrl only when the URL contains "github.com".
const htmlBase = "https://github.com"

// gqlObject is a value with a GraphQL object type.
type gqlObject interface{ typeName() string }

type (
	queryRoot    struct{}
	mutationRoot struct{}
	userObj      struct{ u User }
	refObj       struct {
		g    *gitRepo
		name string
	}
	commitObj struct {
		g *gitRepo
		c *commit
	}
	treeObj struct {
		g    *gitRepo
		c    *commit
		path string
	}
	blobObj struct {
		g          *gitRepo
		path, text string
	}
	entryObj struct {
		t      *treeObj
		name   string
		isTree bool
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
func (*gitRepo) typeName() string      { return "Repository" }
func (*refObj) typeName() string       { return "Ref" }
func (*commitObj) typeName() string    { return "Commit" }
func (*treeObj) typeName() string      { return "Tree" }
func (*blobObj) typeName() string      { return "Blob" }
func (*entryObj) typeName() string     { return "TreeEntry" }
func (*refConn) typeName() string      { return "RefConnection" }
func (*refEdge) typeName() string      { return "RefEdge" }
func (*historyConn) typeName() string  { return "CommitHistoryConnection" }
func (*pageInfo) typeName() string     { return "PageInfo" }
func (*rateObj) typeName() string      { return "RateLimit" }
func (p *payloadObj) typeName() string { return p.typ }

// gitObject is a commit, tree or blob.
type gitObject interface {
	gqlObject
	oid() string
}

func (c *commitObj) oid() string { return c.c.oid }
func (t *treeObj) oid() string   { return treeOID(t.c.files, t.path) }
func (b *blobObj) oid() string   { return gitHash("blob", b.text) }

// resolve returns field of obj: a scalar, nil, a gqlObject or a list of
// them. A non-nil error nulls the field and is reported with its path.
func (e *execution) resolve(obj gqlObject, field string, args map[string]any) (any, *gqlError) {
	str := func(k string) string { s, _ := args[k].(string); return s }
	switch o := obj.(type) {
	case queryRoot:
		switch field {
		case "repository":
			owner, name := str("owner"), str("name")
			if !e.g.named(owner, name) || (e.g.Private && !e.tok.hasScope("repo")) {
				return nil, &gqlError{Type: "NOT_FOUND",
					Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}
			}
			return e.g, nil
		case "viewer":
			return &userObj{e.tok.user}, nil
		case "rateLimit":
			return &rateObj{e.s.now().Add(time.Hour).UTC().Truncate(time.Second)}, nil
		}
	case mutationRoot:
		input, _ := args["input"].(map[string]any)
		if field == "createRef" {
			return e.createRef(input)
		}
		return e.createCommitOnBranch(input)
	case *gitRepo:
		return e.repoField(o, field, args)
	case *userObj:
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
			return o.u.Email, nil
		case "avatarUrl":
			return avatarURL(o.u), nil
		case "url":
			return htmlBase + "/" + o.u.Login, nil
		}
	case *refObj:
		switch field {
		case "id":
			return nodeID("REF", o.g.ID+"/"+o.name), nil
		case "name":
			return o.name, nil
		case "prefix":
			return "refs/heads/", nil
		case "target":
			return &commitObj{o.g, o.g.branches[o.name]}, nil
		case "repository":
			return o.g, nil
		}
	case *refConn:
		var nodes, edges []gqlObject
		for _, r := range o.refs {
			nodes, edges = append(nodes, r), append(edges, &refEdge{r})
		}
		switch field {
		case "nodes":
			return nodes, nil
		case "edges":
			return edges, nil
		case "totalCount":
			return o.total, nil
		case "pageInfo":
			p := &pageInfo{hasNext: o.hasNext}
			if len(o.refs) > 0 {
				p.start, p.end = cursor(o.refs[0].name), cursor(o.refs[len(o.refs)-1].name)
			}
			return p, nil
		}
	case *refEdge:
		if field == "node" {
			return o.r, nil
		}
		return cursor(o.r.name), nil
	case *historyConn:
		switch field {
		case "nodes":
			var nodes []gqlObject
			for _, c := range o.commits {
				nodes = append(nodes, &commitObj{e.g, c})
			}
			return nodes, nil
		case "totalCount":
			return o.total, nil
		case "pageInfo":
			p := &pageInfo{hasNext: o.hasNext}
			if n := len(o.commits); n > 0 {
				p.start, p.end = cursor(o.commits[0].oid+" 0"), cursor(fmt.Sprintf("%s %d", o.commits[0].oid, n-1))
			}
			return p, nil
		}
	case *pageInfo:
		switch field {
		case "hasNextPage":
			return o.hasNext, nil
		case "hasPreviousPage":
			return false, nil
		case "startCursor":
			return nullable(o.start), nil
		case "endCursor":
			return nullable(o.end), nil
		}
	case *rateObj:
		return map[string]any{"limit": 5000, "cost": 1, "remaining": 4999, "used": 1, "nodeCount": 1,
			"resetAt": o.reset.Format(time.RFC3339)}[field], nil
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
	}
	return nil, nil
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
		return &refObj{g, g.DefaultBranch}, nil
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
		name := str("qualifiedName")
		if g.branches[strings.TrimPrefix(name, "refs/heads/")] == nil {
			return nil, nil
		}
		return &refObj{g, strings.TrimPrefix(name, "refs/heads/")}, nil
	case "refs":
		first, hasFirst := intValue(args["first"])
		last, hasLast := intValue(args["last"])
		if !hasFirst && !hasLast {
			return nil, &gqlError{Type: "MISSING_PAGINATION_BOUNDARIES",
				Message: "You must provide a `first` or `last` value to properly paginate the `refs` connection."}
		}
		var names []string
		if str("refPrefix") == "refs/heads/" {
			for n := range g.branches {
				if strings.Contains(strings.ToLower(n), strings.ToLower(str("query"))) {
					names = append(names, n)
				}
			}
		}
		sort.Strings(names)
		total := len(names)
		if hasFirst && first < len(names) {
			names = names[:first]
		} else if !hasFirst && last < len(names) {
			names = names[len(names)-last:]
		}
		conn := &refConn{total: total, hasNext: hasFirst && len(names) < total}
		for _, n := range names {
			conn.refs = append(conn.refs, &refObj{g, n})
		}
		return conn, nil
	}
	return nil, nil
}
