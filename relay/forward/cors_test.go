package forward

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

func TestParserPreflight(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) {
		c.Targets = targets(t, false, publicOrigin, "https://preview.example.com:8443/blog/outstatic")
	})
	preflight := func(origins ...string) *http.Response {
		hdr := http.Header{
			"Access-Control-Request-Method":  {"POST"},
			"Access-Control-Request-Headers": {"authorization,content-type,x-project-id"},
		}
		if origins != nil {
			hdr["Origin"] = origins
		}
		resp, _ := h.send(t, http.MethodOptions, "/github/parser", hdr, "")
		return resp
	}
	for _, origin := range []string{publicSite, "https://preview.example.com:8443"} {
		resp := preflight(origin)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: status %d", origin, resp.StatusCode)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":  origin,
			"Access-Control-Allow-Methods": "POST, OPTIONS",
			"Access-Control-Allow-Headers": "authorization, content-type, x-project-id",
			"Access-Control-Max-Age":       "600",
			"Vary":                         "Origin",
		}
		for name, v := range want {
			if got := resp.Header.Get(name); got != v {
				t.Errorf("%s: %s = %q, want %q", origin, name, got, v)
			}
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", origin)
		}
	}
	for _, origins := range [][]string{
		{"https://evil.example"},
		{"null"},
		{"https://blog.example.com/"},
		{"https://blog.example.com/outstatic"},
		{"https://blog.example.com?x"},
		{"https://user@blog.example.com"},
		{"http://blog.example.com"},
		{"https://blog.example.com:8443"},
		{"https://preview.example.com"},
		{"https://blog.example.com.evil.example"},
		{"blog.example.com"},
		{"https://"},
		{""},
		{publicSite, "https://evil.example"},
		nil,
	} {
		resp := preflight(origins...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%q: status %d, want 403", origins, resp.StatusCode)
		}
		noCORS(t, resp)
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("preflights reached the service %d times", n)
	}
}

func TestParserResponseCORS(t *testing.T) {
	h := newHarness(t)
	parser := func(origin string) *http.Response {
		hdr := http.Header{"Authorization": {"Bearer at_1"}, "X-Project-Id": {"proj_1"}, "Content-Type": {"application/json"}}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		resp, body := h.send(t, http.MethodPost, "/github/parser", hdr, `{"query":"query GetRepoInfo{}"}`)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "R_1") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		return resp
	}
	resp := parser(publicSite)
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != publicSite {
		t.Errorf("ACAO = %q", got)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" || resp.Header.Get("Set-Cookie") != "" {
		t.Error("the service's CORS or cookie headers were passed on")
	}
	if resp.Header.Get("Vary") != "Origin" {
		t.Errorf("Vary = %q", resp.Header.Values("Vary"))
	}
	rec := h.svc.Last(t)
	if rec.Header.Get("Authorization") != "Bearer at_1" || rec.Header.Get("X-Project-Id") != "proj_1" {
		t.Errorf("service got %v", rec.Header)
	}

	for _, origin := range []string{"https://evil.example", "null", "https://blog.example.com/x", ""} {
		noCORS(t, parser(origin))
	}

	// No other endpoint answers CORS, even to an allowed origin and though
	// the service sends CORS headers on every answer.
	hdr := http.Header{"Authorization": {"Bearer " + testKey}, "Origin": {publicSite}, "Content-Type": {"application/json"}}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/outstatic/scan", `{}`},
		{http.MethodPost, "/outstatic/generate", `{}`},
		{http.MethodPost, "/outstatic/auth/github-exchange", `{"callback_url":"` + publicCallback + `"}`},
		{http.MethodPost, "/outstatic/auth/exchange-token", `{"exchange_token":"x","callback_url":"` + publicCallback + `"}`},
		{http.MethodPost, "/outstatic/auth/refresh-token", `{}`},
		{http.MethodGet, "/outstatic/project", ``},
		{http.MethodGet, "/outstatic/media/acme/blog/main/x.png", ``},
		{http.MethodPost, "/outstatic/auth/github-exchange", `{"callback_url":"https://evil.example/"}`},
	} {
		resp, body := h.send(t, c.method, c.path, hdr, c.body)
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s: %s", c.path, body)
		}
		noCORS(t, resp)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	h := newHarness(t)
	secrets := []string{testKey, revokedKey, wrongKey, "et_s3cret_tok", "gho_s3cret_tok", "at_s3cret_tok", "rt_s3cret_tok", "a@b.co"}
	key := func(k string) http.Header {
		return http.Header{"Authorization": {"Bearer " + k}, "Content-Type": {"application/json"}}
	}
	h.mem.Remember("et_s3cret_tok", publicCallback)
	calls := []struct {
		method, path string
		hdr          http.Header
		body         string
	}{
		{http.MethodGet, "/outstatic/project", key(testKey), ""},
		{http.MethodGet, "/outstatic/project", key(revokedKey), ""},
		{http.MethodGet, "/outstatic/project", key(wrongKey), ""},
		{http.MethodPost, "/outstatic/auth/github-exchange", key(wrongKey), `{"callback_url":"` + publicCallback + `"}`},
		{http.MethodPost, "/outstatic/auth/request-magic-link", key(testKey), `{"email":"a@b.co","callbackUrl":"https://evil.example/api/outstatic/callback"}`},
		{http.MethodPost, "/outstatic/auth/validate-github-user", key(testKey), `{"github_token":"gho_s3cret_tok","callback_url":"http://localhost:3000/api/outstatic/callback"}`},
		{http.MethodPost, "/outstatic/auth/exchange-token", nil, `{"exchange_token":"et_s3cret_tok","callback_url":"http://localhost:3000/api/outstatic/callback"}`},
		{http.MethodPost, "/outstatic/auth/exchange-token", nil, `{"exchange_token":"et_s3cret_tok","callback_url":"http://localhost:3000/api/outstatic/callback"}`},
		{http.MethodPost, "/outstatic/auth/refresh-token", nil, `{"refresh_token":"rt_s3cret_tok"}`},
		{http.MethodPost, "/github/parser", key("at_s3cret_tok"), `{}`},
		{http.MethodGet, "/outstatic/media/acme/blog/main/x.png", key("at_s3cret_tok"), ""},
		{http.MethodGet, "/outstatic/" + testKey, key(testKey), ""},
		{http.MethodGet, "/outstatic/project?key=" + testKey, key(testKey), ""},
	}
	for _, c := range calls {
		h.send(t, c.method, c.path, c.hdr, c.body)
	}
	h.svc.Server.Close() // and one upstream failure, logged with its error
	h.send(t, http.MethodPost, "/outstatic/generate?key="+testKey, key(testKey), `{"prompt":"`+testKey+`"}`)

	entries := h.logs.All()
	if len(entries) < len(calls) {
		t.Fatalf("only %d log entries", len(entries))
	}
	refusals := map[string]bool{}
	for _, e := range entries {
		text := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("log entry holds %q: %s", s, text)
			}
		}
		if r, ok := e.ContextMap()["refused"].(string); ok {
			refusals[r] = true
			if e.Level != zapcore.InfoLevel && r != protocol.CodeServiceUnavailable {
				t.Errorf("refusal logged at %v", e.Level)
			}
			if e.ContextMap()["endpoint"] == "" {
				t.Errorf("refusal without endpoint: %s", text)
			}
		}
	}
	for _, code := range []string{"invalid-api-key", "invalid-callback-domain", "service-unavailable", "not-found"} {
		if !refusals[code] {
			t.Errorf("no refusal %q logged; got %v", code, refusals)
		}
	}
	if len(h.logs.FilterMessage("upstream failed").All()) == 0 {
		t.Error("the upstream failure was not logged")
	}
}
