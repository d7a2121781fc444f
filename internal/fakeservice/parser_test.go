package fakeservice

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// TestParser checks the GraphQL answers the stock dashboard relies on,
// and that only a session the fake issued, for its project, gets them.
func TestParser(t *testing.T) {
	svc := New("ost_k", true, "https://blog.example.com/outstatic")
	srv := httptest.NewServer(svc)
	defer srv.Close()
	token := svc.Mint("https://blog.example.com/api/outstatic/callback")
	res, err := http.Post(srv.URL+"/api/outstatic/auth/exchange-token", "application/json",
		strings.NewReader(`{"exchange_token":"`+token+`","callback_url":"https://blog.example.com/api/outstatic/callback"}`))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %v %v", err, res)
	}
	res.Body.Close()

	gql := func(auth, project, query string, vars map[string]string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/github/parser", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Project-Id", project)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	session := "Bearer at_" + token
	q := fakegithub.DashboardDocuments()

	if status, _ := gql("Bearer at_unknown", "proj_1", q["GetRepoInfo"], nil); status != http.StatusUnauthorized {
		t.Errorf("unknown session: %d", status)
	}
	if status, _ := gql(session, "proj_2", q["GetRepoInfo"], nil); status != http.StatusForbidden {
		t.Errorf("other project: %d", status)
	}

	repo := func(kv ...string) map[string]string {
		m := map[string]string{"owner": "acme", "name": "blog"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		query string
		vars  map[string]string
		want  string // a fragment of the JSON reply
	}{
		{q["GetRepoInfo"], repo(), `"defaultBranchRef":{"name":"main"`},
		{"\n  " + q["File"], repo("filePath", "main:outstatic/content/collections.json"), `"slug\":\"posts\"`},
		{q["File"], repo("filePath", "main:outstatic/content/singletons.json"), `"object":null`},
		{q["File"], repo("filePath", "dev:outstatic/config.json"), `"object":null`},
		{q["Collections"], repo("contentPath", "main:outstatic/content"), `"name":"posts","object":{"entries":[{"name":"hello-world.md"`},
		{q["Documents"], repo("contentPath", "main:outstatic/content/posts"), `title: 'Hello World'`},
		{q["createCommit"], nil, `"errors":[`},
	}
	for _, c := range cases {
		status, out := gql(session, "proj_1", c.query, c.vars)
		got, _ := json.Marshal(out)
		if status != http.StatusOK || !strings.Contains(string(got), c.want) {
			t.Errorf("%q %v: %d %s\nwant it to contain %s", c.query, c.vars, status, got, c.want)
		}
	}
}
