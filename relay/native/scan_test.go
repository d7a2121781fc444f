package native

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/scan"
)

// The content scan reads the project's repository with the relay's own
// token (a GitHub App's, in production): one recursive tree listing, then
// the documents, raw; it answers scan.Result, and its errors as {message}.
func TestNativeScan(t *testing.T) {
	var token string
	var tokenErr error
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		if i == 0 {
			c.RepoToken = func(_ context.Context, p *roster.Project) (string, error) {
				if p.Slug != "blog" {
					t.Errorf("token asked for %q", p.Slug)
				}
				return token, tokenErr
			}
		}
	})
	token = env.gh.IssueToken("repo")
	env.gh.PutFile("main", "content/blog/a.md", "---\ntitle: A\ndate: 2024-01-05\n---\nA.\n")
	env.gh.PutFile("main", "content/blog/b.md", "---\ntitle: B\ndate: 2024-02-05\ndraft: true\n---\nB.\n")
	message := func(body string) string {
		var m map[string]string
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("not {message}: %q", body)
		}
		return m["message"]
	}

	status, ct, body := env.post(t, "/outstatic/scan", env.key, `{"projectId":"blog","branch":"main"}`)
	if status != 200 || ct != "application/json" {
		t.Fatalf("scan: %d %q %q", status, ct, body)
	}
	var res scan.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range res.Suggestions {
		got[s.Path] = s.DocCount
	}
	if res.Branch != "main" || res.Truncated || got["content/blog"] != 2 || got["outstatic/content/posts"] != 2 || res.Stats.ScannedFiles != 4 {
		t.Fatalf("scan result: %s", body)
	}
	var trees, raws int
	for _, r := range env.gh.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/api/v3/repos/acme/blog/git/trees/"):
			trees++
			if r.Path != "/api/v3/repos/acme/blog/git/trees/main" || r.Query.Get("recursive") != "1" || r.Authorization != "Bearer "+token {
				t.Errorf("tree call %+v", r)
			}
		case strings.HasPrefix(r.Path, "/api/v3/repos/acme/blog/contents/"):
			raws++
			if r.Query.Get("ref") != "main" || r.Header.Get("Accept") != "application/vnd.github.raw" || r.Authorization != "Bearer "+token {
				t.Errorf("contents call %+v", r)
			}
		}
	}
	if trees != 1 || raws != 4 {
		t.Fatalf("%d tree and %d contents calls, want 1 and 4", trees, raws)
	}

	// GitHub's truncated listing is passed on, with a warning
	env.gh.SetTreeLimit(3)
	status, _, body = env.post(t, "/outstatic/scan", env.key, `{"projectId":"blog","branch":"main"}`)
	env.gh.SetTreeLimit(0)
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || !res.Truncated ||
		!strings.Contains(strings.Join(res.Warnings, " "), "only part of the repository") {
		t.Fatalf("truncated listing: %d %s", status, body)
	}

	for _, c := range []struct {
		name, body string
		status     int
		message    string
	}{
		{"another project", `{"projectId":"docs","branch":"main"}`, 403, "projectId is not the project of this API key"},
		{"bad ref", `{"projectId":"blog","branch":"a..b"}`, 400, "branch is not a valid branch name"},
		{"ref with a query", `{"projectId":"blog","branch":"main?recursive=0"}`, 400, "branch is not a valid branch name"},
		{"no branch", `{"projectId":"blog","branch":"gone"}`, 404, "no branch gone in the repository"},
		{"not JSON", `projectId=blog`, 400, "the body must be JSON {projectId, branch}"},
	} {
		status, _, body := env.post(t, "/outstatic/scan", env.key, c.body)
		if status != c.status || message(body) != c.message {
			t.Errorf("%s: %d %q", c.name, status, body)
		}
	}
	if status, _, body := env.post(t, "/outstatic/scan", "ost_nope", `{"projectId":"blog","branch":"main"}`); status != 401 || body != `{"error":"invalid-api-key"}` {
		t.Errorf("bad key: %d %q", status, body)
	}
	tokenErr = errors.New("installation suspended")
	if status, _, body := env.post(t, "/outstatic/scan", env.key, `{"projectId":"blog","branch":"main"}`); status != 502 ||
		strings.Contains(body, "suspended") || message(body) != "the relay could not get access to the repository" {
		t.Errorf("no token: %d %q", status, body)
	}

	// relay 1 has no repository token: the hook the GitHub App fills
	env.urls[0] = env.urls[1]
	if status, _, body := env.post(t, "/outstatic/scan", env.key, `{"projectId":"blog","branch":"main"}`); status != 501 ||
		message(body) != "scan needs the relay's github_app" {
		t.Errorf("no github_app: %d %q", status, body)
	}
}
