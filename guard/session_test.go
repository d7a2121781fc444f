package guard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// TestSessionEndWatchesRefresh: only a POST to the refresh route, in
// either of its forms, is watched; the cookie clearing it is Secure on
// https and on loopback names.
func TestSessionEndWatchesRefresh(t *testing.T) {
	g := New(Config{Origins: testOrigins(t)})
	for target, want := range map[string]SessionEnd{
		"POST https://blog.example.com/api/outstatic/refresh":           {watch: true, secure: true},
		"POST https://blog.example.com/outstatic/api/outstatic/refresh": {watch: true, secure: true},
		"POST http://localhost:3000/api/outstatic/refresh":              {watch: true, secure: true},
		"GET https://blog.example.com/api/outstatic/refresh":            {},
		"POST https://blog.example.com/api/outstatic/refresh/x":         {},
		"POST https://blog.example.com/api/outstatic/signout":           {},
		"POST https://blog.example.com/api/outstatic/refreshed":         {},
	} {
		method, u, _ := strings.Cut(target, " ")
		r := httptest.NewRequest(method, u, nil)
		r.Header.Set("Origin", "https://blog.example.com")
		r.Header.Set("Accept-Encoding", "gzip, deflate, br")
		fix, done, _ := g.Check(httptest.NewRecorder(), r, verdict.Verdict{}, false)
		if got := fix.Session; done || got.watch != want.watch || got.secure != want.secure || got.serviceAnswers != nil {
			t.Errorf("%s: done %v, %+v, want %+v", target, done, fix.Session, want)
		}
		// a watched refresh is asked for uncompressed, so it can be read
		if got := r.Header.Get("Accept-Encoding"); fix.Session.Watching() == (got != "") {
			t.Errorf("%s: Accept-Encoding %q", target, got)
		}
	}
	for host, want := range map[string]bool{
		"localhost": true, "blog.localhost": true, "127.0.0.1": true, "127.0.0.9": true, "[::1]": true,
		"blog.example.com": false, "192.0.2.1": false, "[2001:db8::1]": false, "localhost.example.com": false,
	} {
		if got := secureCookieSite("http", host); got != want {
			t.Errorf("http://%s: secure %v, want %v", host, got, want)
		}
	}
}

// TestSessionEndRecognisesFailedRefresh: the cookie is cleared on the
// stock site's answers to a failed refresh, exactly, and on nothing else.
func TestSessionEndRecognisesFailedRefresh(t *testing.T) {
	end := SessionEnd{watch: true, secure: true}
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		status int
		header http.Header
		body   string
		want   bool
	}{
		{401, json, `{"error":"Token refresh failed"}`, true},
		{401, json, `{"error":"Refresh token is expired"}`, true},
		{401, json, `{"error":"No active session found"}`, true},
		{401, json, `{"error":"No refresh token available"}`, true},
		{401, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, `{"error":"Token refresh failed"}`, true},
		{500, json, `{"error":"An unexpected error occurred"}`, false},
		{200, json, `{"success":true,"expires":"2026-01-01T00:00:00.000Z","type":"refreshed"}`, false},
		{401, json, `{"error":"Something else"}`, false},
		{401, json, `{"error":"Token refresh failed","more":1}`, false},
		{401, json, `{"error":["Token refresh failed"]}`, false},
		{401, json, `not json`, false},
		{401, http.Header{"Content-Type": {"text/plain"}}, `{"error":"Token refresh failed"}`, false},
		{403, json, `{"error":"Token refresh failed"}`, false},
		{401, http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, `{"error":"Token refresh failed"}`, false},
	} {
		h := tc.header.Clone()
		if got := end.Apply(context.Background(), tc.status, h, []byte(tc.body)) == SessionCleared; got != tc.want {
			t.Errorf("%d %s: cleared %v, want %v", tc.status, tc.body, got, tc.want)
		}
		set := h.Values("Set-Cookie")
		if !tc.want {
			if len(set) != 0 {
				t.Errorf("%d %s: Set-Cookie %q", tc.status, tc.body, set)
			}
			continue
		}
		if len(set) != 1 || set[0] != "ost_token=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" {
			t.Errorf("%d %s: Set-Cookie %q", tc.status, tc.body, set)
		}
	}
	ctx := context.Background()
	if (SessionEnd{}).Apply(ctx, 401, json.Clone(), []byte(`{"error":"Token refresh failed"}`)) != SessionUntouched {
		t.Error("the zero SessionEnd touched the answer")
	}
	h := json.Clone()
	if (SessionEnd{watch: true}).Apply(ctx, 401, h, []byte(`{"error":"Token refresh failed"}`)) != SessionCleared || strings.Contains(h.Get("Set-Cookie"), "Secure") {
		t.Errorf("plain http: %q", h.Values("Set-Cookie"))
	}
}

// TestSessionEndKeepsSessionsInAnOutage: the answer that may be the
// service's outage ("Token refresh failed") clears the session only if
// the service answers when asked; the answers that are the site's own
// verdicts clear it without asking.
func TestSessionEndKeepsSessionsInAnOutage(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	for _, answers := range []bool{true, false} {
		asked := 0
		end := SessionEnd{watch: true, serviceAnswers: func(context.Context) bool { asked++; return answers }}
		for body, want := range map[string]SessionOutcome{
			`{"error":"Token refresh failed"}`:     map[bool]SessionOutcome{true: SessionCleared, false: SessionKept}[answers],
			`{"error":"Refresh token is expired"}`: SessionCleared,
			`{"error":"No active session found"}`:  SessionCleared,
			`{"error":"Something else"}`:           SessionUntouched,
		} {
			h := json.Clone()
			if got := end.Apply(context.Background(), 401, h, []byte(body)); got != want || (got == SessionCleared) != (h.Get("Set-Cookie") != "") {
				t.Errorf("service answers %v, %s: %v (Set-Cookie %q), want %v", answers, body, got, h.Get("Set-Cookie"), want)
			}
		}
		if asked != 1 {
			t.Errorf("service answers %v: asked %d times, want once (for the answer that may be an outage)", answers, asked)
		}
	}
}
