package guard

import (
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
		if done || fix.Session != want {
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
		if got := end.Apply(tc.status, h, []byte(tc.body)); got != tc.want {
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
	if (SessionEnd{}).Apply(401, json.Clone(), []byte(`{"error":"Token refresh failed"}`)) {
		t.Error("the zero SessionEnd cleared a cookie")
	}
	h := json.Clone()
	if !(SessionEnd{watch: true}).Apply(401, h, []byte(`{"error":"Token refresh failed"}`)) || strings.Contains(h.Get("Set-Cookie"), "Secure") {
		t.Errorf("plain http: %q", h.Values("Set-Cookie"))
	}
}
