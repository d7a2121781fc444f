package fakeservice

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// Repo is a small in-memory GitHub repository, what the fake's GraphQL
// parser (POST /github/parser) answers from. It knows the read queries the
// stock dashboard (outstatic 2.2.4) sends when it loads and lists content:
// GetRepoInfo, File, Collections, Documents, Files, Document, Oid and
// GetBranches. Anything else, mutations included, gets a GraphQL error.
type Repo struct {
	// ID is the repository's node id; Branch its default branch, whose
	// head commit is OID.
	ID, Branch, OID string
	// Files maps a path such as "outstatic/config.json" to its text.
	// Folders are implied by the paths.
	Files map[string]string
}

// DefaultRepo returns a repository with the dashboard's config, one
// collection ("Posts") and one post in it.
func DefaultRepo() *Repo {
	return &Repo{
		ID: "R_fake", Branch: "main", OID: "0123456789abcdef0123456789abcdef01234567",
		Files: map[string]string{
			"outstatic/config.json":                  `{"publicMediaPath":"/images/","repoMediaPath":"public/images/"}`,
			"outstatic/content/collections.json":     `[{"title":"Posts","slug":"posts","path":"outstatic/content/posts","parent":null}]`,
			"outstatic/content/posts/hello-world.md": "---\ntitle: 'Hello World'\nstatus: 'published'\nslug: 'hello-world'\npublishedAt: '2025-01-01T00:00:00.000Z'\n---\n\nThe first post.\n",
		},
	}
}

// operationRe finds the operation name in a query's text, for clients that
// send no operationName.
var operationRe = regexp.MustCompile(`^\s*(query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)`)

// parser answers a GraphQL request as GitHub's API would, for sessions
// this fake issued. The session's token and the project id are checked
// like the real parser checks them; CORS is not the fake's concern (the
// relay answers it).
func (s *Service) parser(w http.ResponseWriter, r *http.Request, rec Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method-not-allowed"})
		return
	}
	token, _ := strings.CutPrefix(rec.Authorization, "Bearer ")
	s.mu.Lock()
	known := s.access[token]
	s.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	if r.Header.Get("X-Project-Id") != s.ProjectID {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "invalid-project"})
		return
	}
	op := str(rec.Body, "operationName")
	if m := operationRe.FindStringSubmatch(str(rec.Body, "query")); op == "" && m != nil {
		op = m[2]
	}
	vars, _ := rec.Body["variables"].(map[string]any)
	data, ok := s.Repo.answer(op, vars)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"data": nil,
			"errors": []map[string]string{{"message": "fakeservice: operation " + op + " is not supported"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"repository": data}})
}

// answer returns the repository field of the reply to operation op.
func (rp *Repo) answer(op string, vars map[string]any) (map[string]any, bool) {
	switch op {
	case "GetRepoInfo":
		return map[string]any{"id": rp.ID, "defaultBranchRef": map[string]any{
			"name": rp.Branch, "target": map[string]any{"oid": rp.OID}}}, true
	case "File":
		return map[string]any{"id": rp.ID, "object": rp.object(str(vars, "filePath"))}, true
	case "Collections", "Documents", "Files":
		return map[string]any{"id": rp.ID, "object": rp.object(str(vars, "contentPath"))}, true
	case "Document":
		return map[string]any{"fileMD": rp.object(str(vars, "mdPath")), "fileMDX": rp.object(str(vars, "mdxPath"))}, true
	case "Oid":
		if str(vars, "branch") != rp.Branch {
			return map[string]any{"id": rp.ID, "ref": nil}, true
		}
		return map[string]any{"id": rp.ID, "ref": map[string]any{"target": map[string]any{
			"history": map[string]any{"nodes": []map[string]string{{"oid": rp.OID}}}}}}, true
	case "GetBranches":
		return map[string]any{"refs": map[string]any{"nodes": []map[string]string{{"name": rp.Branch}}}}, true
	}
	return nil, false
}

// object resolves a "<branch>:<path>" expression to a blob, a tree, or
// nil (GraphQL null), as GitHub does.
func (rp *Repo) object(expr string) any {
	branch, path, ok := strings.Cut(expr, ":")
	if !ok || branch != rp.Branch {
		return nil
	}
	path = strings.Trim(path, "/")
	if text, ok := rp.Files[path]; ok {
		return rp.blob(path, text)
	}
	entries := rp.entries(path, true)
	if entries == nil {
		return nil
	}
	return map[string]any{"entries": entries}
}

func (rp *Repo) blob(path, text string) map[string]any {
	return map[string]any{"text": text, "commitUrl": "https://github.com/acme/blog/commit/" + rp.OID, "path": path}
}

// entries lists the folder dir (the root for ""), or nil if it holds
// nothing. With deep, each sub-folder's entry carries its own entries,
// which is as far as the dashboard's Files query looks.
func (rp *Repo) entries(dir string, deep bool) []map[string]any {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	var names []string
	for p := range rp.Files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, name := range names {
		path := prefix + name
		if text, ok := rp.Files[path]; ok {
			out = append(out, map[string]any{"name": name, "path": path, "type": "blob", "object": rp.blob(path, text)})
			continue
		}
		var sub any
		if deep {
			sub = map[string]any{"entries": rp.entries(path, false)}
		} else {
			sub = map[string]any{}
		}
		out = append(out, map[string]any{"name": name, "path": path, "type": "tree", "object": sub})
	}
	return out
}
