package fakegithub

// Fields of the Git objects (Commit, Tree, Blob) and of tree entries.

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

func (e *execution) gitObjectField(o gitObject, field string, args map[string]any) (any, *gqlError) {
	oid := o.oid()
	switch field {
	case "id":
		return nodeID(map[string]string{"Commit": "C", "Tree": "T", "Blob": "B"}[o.typeName()], e.g.ID+oid), nil
	case "oid":
		return oid, nil
	case "abbreviatedOid":
		return oid[:7], nil
	case "commitUrl", "url":
		return htmlBase + "/" + e.g.Owner + "/" + e.g.Name + "/commit/" + oid, nil
	case "commitResourcePath":
		return "/" + e.g.Owner + "/" + e.g.Name + "/commit/" + oid, nil
	case "repository":
		return e.g, nil
	}
	switch o := o.(type) {
	case *commitObj:
		switch field {
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
			return e.history(o.c, args)
		}
	case *treeObj:
		names, isTree := entries(o.c.files, o.path)
		var list []gqlObject
		for _, n := range names {
			list = append(list, &entryObj{o, n, isTree[n]})
		}
		return list, nil
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
	}
	return nil, nil
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
	return nil, nil
}

// history walks back from c; only first/last bound it (no cursors).
func (e *execution) history(c *commit, args map[string]any) (any, *gqlError) {
	first, hasFirst := intValue(args["first"])
	last, hasLast := intValue(args["last"])
	if !hasFirst && !hasLast {
		return nil, &gqlError{Type: "MISSING_PAGINATION_BOUNDARIES",
			Message: "You must provide a `first` or `last` value to properly paginate the `history` connection."}
	}
	var all []*commit
	for ; c != nil; c = c.parent {
		all = append(all, c)
	}
	conn := &historyConn{commits: all, total: len(all)}
	if hasFirst && first < len(all) {
		conn.commits, conn.hasNext = all[:first], true
	} else if !hasFirst && last < len(all) {
		conn.commits = all[len(all)-last:]
	}
	return conn, nil
}

// cursor makes an opaque connection cursor, shaped like GitHub's.
func cursor(key string) string {
	return strings.TrimRight(fmt.Sprintf("Y3Vyc29yOnYyOpK5%x", key), "=")
}
