package fakegithub

import (
	"encoding/json"
	"testing"
)

type treeReply struct {
	SHA  string `json:"sha"`
	Tree []struct {
		Path, Type, SHA string
		Size            *int
	} `json:"tree"`
	Truncated bool `json:"truncated"`
}

func getTree(t *testing.T, s *Server, path, token string) (int, treeReply) {
	t.Helper()
	status, _, body := getContents(t, s, path, token, "application/vnd.github+json")
	var out treeReply
	if status == 200 {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	return status, out
}

// The trees API as GitHub answers it: recursive or one level, by branch,
// commit or tree oid (paths relative to that tree), blobs with sizes,
// truncated past the limit, and private repositories hidden.
func TestTrees(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")

	status, all := getTree(t, s, "/repos/acme/blog/git/trees/main?recursive=1", tok)
	if status != 200 || all.Truncated {
		t.Fatalf("recursive: %d %+v", status, all)
	}
	byPath := map[string]string{}
	var postsOID string
	for _, e := range all.Tree {
		byPath[e.Path] = e.Type
		if e.Type == "blob" && (e.Size == nil || *e.Size == 0) {
			t.Errorf("blob %s without its size", e.Path)
		}
		if e.Type == "tree" && e.Size != nil {
			t.Errorf("tree %s with a size", e.Path)
		}
		if e.Path == "outstatic/content/posts" {
			postsOID = e.SHA
		}
	}
	if byPath["outstatic/content/posts/hello-world.md"] != "blob" || byPath["outstatic/content"] != "tree" || byPath["README.md"] != "blob" {
		t.Fatalf("recursive listing: %v", byPath)
	}

	status, top := getTree(t, s, "/repos/acme/blog/git/trees/main", tok)
	if status != 200 || len(top.Tree) != 2 || top.SHA != all.SHA {
		t.Fatalf("one level: %d %+v", status, top)
	}
	status, posts := getTree(t, s, "/repos/acme/blog/git/trees/"+postsOID, tok)
	if status != 200 || len(posts.Tree) != 2 || posts.Tree[0].Path != "hello-world.md" || posts.SHA != postsOID {
		t.Fatalf("by tree oid: %d %+v", status, posts)
	}

	s.SetTreeLimit(3)
	if status, cut := getTree(t, s, "/repos/acme/blog/git/trees/main?recursive=1", tok); status != 200 || !cut.Truncated || len(cut.Tree) != 3 {
		t.Fatalf("truncated: %d %+v", status, cut)
	}
	s.SetTreeLimit(0)

	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/repos/acme/blog/git/trees/gone?recursive=1", tok, 404},
		{"/repos/acme/other/git/trees/main", tok, 404},
		{"/repos/acme/blog/git/trees/main", "", 404},                        // private
		{"/repos/acme/blog/git/trees/main", s.IssueToken("read:user"), 404}, // no repo scope
		{"/repos/acme/blog/git/trees/main", "bogus", 401},
	} {
		if status, _ := getTree(t, s, c.path, c.token); status != c.status {
			t.Errorf("%s: %d, want %d", c.path, status, c.status)
		}
	}
}
