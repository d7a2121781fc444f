package fakegithub

// The git objects (Commit, Tree, Blob, Tag) and tree entries.

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

type (
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
	tagObj struct {
		g *gitRepo
		t *tag
	}
	entryObj struct {
		t      *treeObj
		name   string
		isTree bool
	}
)

func (*commitObj) typeName() string { return "Commit" }
func (*treeObj) typeName() string   { return "Tree" }
func (*blobObj) typeName() string   { return "Blob" }
func (*tagObj) typeName() string    { return "Tag" }
func (*entryObj) typeName() string  { return "TreeEntry" }

// gitObject is a commit, tree, blob or tag.
type gitObject interface {
	gqlObject
	oid() string
}

func (c *commitObj) oid() string { return c.c.oid }
func (t *treeObj) oid() string   { return treeOID(t.c.files, t.path) }
func (b *blobObj) oid() string   { return gitHash("blob", b.text) }
func (t *tagObj) oid() string    { return t.t.oid }

func (e *execution) gitObjectField(o gitObject, field string, args map[string]any) (any, *gqlError) {
	oid := o.oid()
	switch field {
	case "id":
		return nodeID(map[string]string{"Commit": "C", "Tree": "T", "Blob": "B", "Tag": "TAG"}[o.typeName()], e.g.ID+oid), nil
	case "oid":
		return oid, nil
	case "abbreviatedOid":
		return oid[:7], nil
	case "commitUrl":
		return htmlBase + "/" + e.g.Owner + "/" + e.g.Name + "/commit/" + oid, nil
	case "commitResourcePath":
		return "/" + e.g.Owner + "/" + e.g.Name + "/commit/" + oid, nil
	case "repository":
		return e.g, nil
	}
	switch o := o.(type) {
	case *commitObj:
		switch field {
		case "url":
			return htmlBase + "/" + e.g.Owner + "/" + e.g.Name + "/commit/" + oid, nil
		case "message":
			return o.c.message, nil
		case "messageHeadline":
			head, _, _ := strings.Cut(o.c.message, "\n")
			return head, nil
		case "committedDate":
			return o.c.when.UTC().Format(time.RFC3339), nil
		case "tree":
			return &treeObj{e.g, o.c, ""}, nil
		case "history":
			return e.history(o.c, args), nil
		}
	case *treeObj:
		if field == "entries" {
			names, isTree := entries(o.c.files, o.path)
			list := []gqlObject{}
			for _, n := range names {
				list = append(list, &entryObj{o, n, isTree[n]})
			}
			return list, nil
		}
	case *blobObj:
		binary := !utf8.ValidString(o.text) || strings.ContainsRune(o.text, 0)
		switch field {
		case "text":
			if binary {
				return nil, nil
			}
			return o.text, nil
		case "byteSize":
			return len(o.text), nil
		case "isBinary":
			return binary, nil
		case "isTruncated":
			return false, nil
		}
	case *tagObj:
		switch field {
		case "name":
			return o.t.name, nil
		case "message":
			return o.t.message, nil
		case "target":
			return &commitObj{e.g, o.t.target}, nil
		}
	}
	return nil, unserved(o, field)
}

func (e *execution) entryField(o *entryObj, field string) (any, *gqlError) {
	p := joinPath(o.t.path, o.name)
	var obj gitObject = &blobObj{e.g, p, o.t.c.files[p]}
	if o.isTree {
		obj = &treeObj{e.g, o.t.c, p}
	}
	switch field {
	case "name":
		return o.name, nil
	case "path":
		return p, nil
	case "type":
		return map[bool]string{true: "tree", false: "blob"}[o.isTree], nil
	case "mode":
		return map[bool]int{true: 0o40000, false: 0o100644}[o.isTree], nil
	case "oid":
		return obj.oid(), nil
	case "object":
		return obj, nil
	case "extension":
		return nullable(path.Ext(o.name)), nil
	case "isGenerated":
		return false, nil
	case "size":
		return len(o.t.c.files[p]), nil
	case "repository":
		return e.g, nil
	}
	return nil, unserved(o, field)
}

// history walks back from c; only first/last bound it (no cursors).
func (e *execution) history(c *commit, args map[string]any) *historyConn {
	first, hasFirst := jsonvalue.Integer(args["first"])
	last, _ := jsonvalue.Integer(args["last"])
	var all []*commit
	for ; c != nil; c = c.parent {
		all = append(all, c)
	}
	conn := &historyConn{commits: all, total: len(all)}
	if hasFirst && int(first) < len(all) {
		conn.commits, conn.hasNext = all[:first], true
	} else if !hasFirst && int(last) < len(all) {
		conn.commits = all[len(all)-int(last):]
	}
	return conn
}

// cursor makes an opaque connection cursor, shaped like GitHub's.
func cursor(key string) string {
	return strings.TrimRight(fmt.Sprintf("Y3Vyc29yOnYyOpK5%x", key), "=")
}
