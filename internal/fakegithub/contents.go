package fakegithub

import (
	"encoding/base64"
	"maps"
	"net/http"
	"strconv"
	"strings"
)

// The REST contents API, GET /repos/{owner}/{repo}/contents/{path}?ref=,
// for the files of the repository: what a media proxy reads. With
// Accept: application/vnd.github.raw (or .raw+json, .v3.raw) a file comes
// back as its bytes; otherwise as GitHub's JSON with base64 content. A
// folder is always a JSON array. As on GitHub, a private repository is
// Not Found to callers without the repo scope, and a bad token is 401.

const contentsDoc = "https://docs.github.com/rest/repos/contents#get-repository-content"

// contentsRoute reports whether p (below /api/v3) is a contents call, and
// splits it.
func contentsRoute(p string) (owner, name, path string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/repos/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 3 || parts[2] != "contents" {
		return "", "", "", false
	}
	if len(parts) == 4 {
		path = parts[3]
	}
	return parts[0], parts[1], path, true
}

// contents serves the contents API; p is the path below /api/v3.
func (s *Server) contents(w http.ResponseWriter, r *http.Request, p string) {
	apiHeaders(w, "core")
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	owner, name, path, _ := contentsRoute(p)
	tok, sent := s.authenticate(r)
	if sent && tok == nil {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(w, http.StatusNotFound, "Not Found", contentsDoc)
		return
	}
	s.mu.Lock()
	g := s.git
	visible := g.named(owner, name) && (!g.Private || (tok != nil && tok.hasScope("repo")))
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = g.DefaultBranch
	}
	c := g.resolveRev(ref)
	var files map[string]string
	if c != nil {
		files = c.files
	}
	s.mu.Unlock()
	if !visible {
		apiError(w, http.StatusNotFound, "Not Found", contentsDoc)
		return
	}
	if c == nil {
		apiError(w, http.StatusNotFound, "No commit found for the ref "+ref, contentsDoc)
		return
	}
	path = strings.Trim(path, "/")
	content, isFile := files[path]
	if !isFile {
		listFolder(w, r, g, files, path)
		return
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/vnd.github.raw") || strings.Contains(accept, "application/vnd.github.v3.raw") {
		h := w.Header()
		h.Set("Content-Type", "application/vnd.github.raw")
		h.Set("Content-Length", strconv.Itoa(len(content)))
		h.Set("ETag", `"`+gitHash("blob", content)+`"`)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(content))
		}
		return
	}
	writeJSON(w, http.StatusOK, contentEntry(r, g, path, content, true))
}

// listFolder answers a folder as the array of its entries, or 404.
func listFolder(w http.ResponseWriter, r *http.Request, g *gitRepo, files map[string]string, dir string) {
	names, isTree := entries(files, dir)
	if len(names) == 0 {
		apiError(w, http.StatusNotFound, "Not Found", contentsDoc)
		return
	}
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		p := joinPath(dir, n)
		if isTree[n] {
			out = append(out, contentLinks(r, g, map[string]any{"type": "dir", "name": n, "path": p,
				"sha": treeOID(files, p), "size": 0, "download_url": nil}))
			continue
		}
		out = append(out, contentEntry(r, g, p, files[p], false))
	}
	writeJSON(w, http.StatusOK, out)
}

// contentEntry is a file as the contents API describes it.
func contentEntry(r *http.Request, g *gitRepo, path, content string, withContent bool) map[string]any {
	name := path[strings.LastIndex(path, "/")+1:]
	e := map[string]any{
		"type": "file", "name": name, "path": path, "sha": gitHash("blob", content), "size": len(content),
		"download_url": "http://" + r.Host + "/" + g.Owner + "/" + g.Name + "/raw/" + path,
	}
	if withContent {
		e["encoding"] = "base64"
		e["content"] = base64.StdEncoding.EncodeToString([]byte(content))
	}
	return contentLinks(r, g, e)
}

// contentLinks adds to e, a file or folder of the default branch, the
// URLs GitHub gives every entry: the entry in the API (url, _links.self),
// its git object (git_url: a blob or a tree) and its page (html_url).
func contentLinks(r *http.Request, g *gitRepo, e map[string]any) map[string]any {
	repo := g.Owner + "/" + g.Name
	api := "http://" + r.Host + "/api/v3/repos/" + repo
	object, page := "blobs", "blob"
	if e["type"] == "dir" {
		object, page = "trees", "tree"
	}
	e["url"] = api + "/contents/" + e["path"].(string) + "?ref=" + g.DefaultBranch
	e["git_url"] = api + "/git/" + object + "/" + e["sha"].(string)
	e["html_url"] = "http://" + r.Host + "/" + repo + "/" + page + "/" + g.DefaultBranch + "/" + e["path"].(string)
	e["_links"] = map[string]any{"self": e["url"], "git": e["git_url"], "html": e["html_url"]}
	return e
}

// PutFile commits content (any bytes, images too) at path on branch ("":
// the default branch), as a push would. It may be called while the server
// runs.
func (s *Server) PutFile(branch, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git
	if branch == "" {
		branch = g.DefaultBranch
	}
	files := map[string]string{}
	var parent *commit
	if head := g.branches[branch]; head != nil {
		parent = head
		maps.Copy(files, head.files)
	}
	files[strings.Trim(path, "/")] = content
	g.branches[branch] = g.newCommit(parent, files, "Add "+path, s.now())
}

func isContentsRoute(p string) bool { _, _, _, ok := contentsRoute(p); return ok }
