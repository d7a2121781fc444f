package fakegithub

import (
	"net/http"
	"strings"
)

// The git trees API, GET /repos/{owner}/{repo}/git/trees/{tree_sha}, where
// tree_sha is a tree oid, a commit oid or a branch name, and
// ?recursive=<anything> lists every entry below it: what a content scan
// reads. As on GitHub, each entry is {path, mode, type, sha, size?, url}
// (size for blobs only), the reply says whether the listing was truncated,
// a private repository is Not Found without the repo scope, and an
// unknown ref is 404 "Not Found".

const treesDoc = "https://docs.github.com/rest/git/trees#get-a-tree"

// treesRoute reports whether p (below /api/v3) is a trees call, and splits
// it.
func treesRoute(p string) (owner, name, sha string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/repos/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 5)
	if len(parts) != 5 || parts[2] != "git" || parts[3] != "trees" || parts[4] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[4], true
}

func isTreesRoute(p string) bool { _, _, _, ok := treesRoute(p); return ok }

// trees serves the trees API; p is the path below /api/v3.
func (s *Server) trees(w http.ResponseWriter, r *http.Request, p string) {
	apiHeaders(w, "core")
	owner, name, sha, _ := treesRoute(p)
	tok, sent := s.authenticate(r)
	if sent && tok == nil {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusNotFound, "Not Found", treesDoc)
		return
	}
	s.mu.Lock()
	g := s.git
	limit := s.TreeLimit
	visible := g.named(owner, name) && (!g.Private || (tok != nil && tok.hasScope("repo")))
	var files map[string]string
	dir, found := "", false
	if c := g.resolveRev(sha); c != nil {
		files, found = c.files, true
	} else {
		// a tree oid: any folder of any branch's head
		for _, c := range g.branches {
			if d, ok := findTree(c.files, sha); ok {
				files, dir, found = c.files, d, true
				break
			}
		}
	}
	s.mu.Unlock()
	if !visible || !found {
		apiError(w, http.StatusNotFound, "Not Found", treesDoc)
		return
	}
	recursive := r.URL.Query().Has("recursive")
	base := "http://" + r.Host + "/api/v3/repos/" + g.Owner + "/" + g.Name + "/git/"
	var out []map[string]any
	var walk func(dir string)
	walk = func(dir string) {
		names, isTree := entries(files, dir)
		for _, n := range names {
			p := joinPath(dir, n)
			if isTree[n] {
				oid := treeOID(files, p)
				out = append(out, map[string]any{"path": p, "mode": "040000", "type": "tree", "sha": oid, "url": base + "trees/" + oid})
				if recursive {
					walk(p)
				}
				continue
			}
			oid := gitHash("blob", files[p])
			out = append(out, map[string]any{"path": p, "mode": "100644", "type": "blob", "sha": oid,
				"size": len(files[p]), "url": base + "blobs/" + oid})
		}
	}
	walk(dir)
	// Paths are relative to the tree asked for, as on GitHub.
	if dir != "" {
		for _, e := range out {
			e["path"] = strings.TrimPrefix(e["path"].(string), dir+"/")
		}
	}
	truncated := false
	if limit > 0 && len(out) > limit {
		out, truncated = out[:limit], true
	}
	if out == nil {
		out = []map[string]any{}
	}
	oid := treeOID(files, dir)
	writeJSON(w, http.StatusOK, map[string]any{"sha": oid, "url": base + "trees/" + oid, "tree": out, "truncated": truncated})
}

// findTree finds the folder whose tree oid is oid.
func findTree(files map[string]string, oid string) (string, bool) {
	if treeOID(files, "") == oid {
		return "", true
	}
	seen := map[string]bool{}
	for p := range files {
		for d := p; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			if seen[d] {
				break
			}
			seen[d] = true
			if treeOID(files, d) == oid {
				return d, true
			}
		}
	}
	return "", false
}

// SetTreeLimit sets TreeLimit while the server runs.
func (s *Server) SetTreeLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.TreeLimit = n
}
