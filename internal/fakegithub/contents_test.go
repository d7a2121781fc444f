package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// getContents GETs a contents URL below the API root with token ("" for
// none) and accept, and returns status, Content-Type and body.
func getContents(t *testing.T, s *Server, path, token, accept string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.APIURL()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

func TestContentsRaw(t *testing.T) {
	s := start(t)
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"
	s.PutFile("", "public/images/a b.png", png)
	tok := s.IssueToken("repo")
	const raw = "application/vnd.github.raw+json"

	status, ct, body := getContents(t, s, "/repos/ACME/Blog/contents/public/images/a%20b.png?ref=main", tok, raw)
	if status != 200 || string(body) != png || ct != "application/vnd.github.raw" {
		t.Fatalf("raw: %d %q %q", status, ct, body)
	}
	// without the raw media type: JSON with base64 content
	status, _, body = getContents(t, s, "/repos/acme/blog/contents/public/images/a%20b.png", tok, "")
	var entry struct{ Type, Encoding, Content string }
	if status != 200 || json.Unmarshal(body, &entry) != nil || entry.Type != "file" || entry.Encoding != "base64" {
		t.Fatalf("json: %d %s", status, body)
	}
	if dec, _ := base64.StdEncoding.DecodeString(entry.Content); string(dec) != png {
		t.Fatalf("content %q", dec)
	}
	// a folder is a JSON array even when raw is asked for
	status, ct, body = getContents(t, s, "/repos/acme/blog/contents/public/images", tok, raw)
	if status != 200 || ct != "application/json; charset=utf-8" || body[0] != '[' {
		t.Fatalf("folder: %d %q %s", status, ct, body)
	}
	// files on another branch
	s.PutFile("draft", "x.txt", "draft")
	if status, _, body := getContents(t, s, "/repos/acme/blog/contents/x.txt?ref=draft", tok, raw); status != 200 || string(body) != "draft" {
		t.Fatalf("draft branch: %d %s", status, body)
	}
	if status, _, _ := getContents(t, s, "/repos/acme/blog/contents/x.txt?ref=main", tok, raw); status != 404 {
		t.Fatalf("x.txt on main: %d", status)
	}
}

func TestContentsRefusals(t *testing.T) {
	s := start(t)
	repo := s.IssueToken("repo")
	noRepo := s.IssueToken("read:user")
	for name, c := range map[string]struct {
		path, token string
		status      int
	}{
		"no token, private repo":  {"/repos/acme/blog/contents/README.md", "", 404},
		"no repo scope":           {"/repos/acme/blog/contents/README.md", noRepo, 404},
		"bad token":               {"/repos/acme/blog/contents/README.md", "gho_nope", 401},
		"other repository":        {"/repos/acme/other/contents/README.md", repo, 404},
		"missing file":            {"/repos/acme/blog/contents/nope.png", repo, 404},
		"unknown ref":             {"/repos/acme/blog/contents/README.md?ref=nope", repo, 404},
		"the repository's own ok": {"/repos/acme/blog/contents/README.md", repo, 200},
	} {
		if status, _, body := getContents(t, s, c.path, c.token, "application/vnd.github.raw"); status != c.status {
			t.Errorf("%s: %d %s, want %d", name, status, body, c.status)
		}
	}
}
