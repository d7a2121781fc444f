package outstatic

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// TestGuardEndsSessionOnFailedRefreshInCaddy: the app answers the refresh
// route as the stock site does (outstatic 2.2.4, gzipped by next start
// when the request allows it); on its failed-refresh
// answers, and only on them, the guard adds the cookie that clears the
// session, and passes the answer on as it was.
func TestGuardEndsSessionOnFailedRefreshInCaddy(t *testing.T) {
	var mu sync.Mutex
	var answer struct {
		status int
		body   string
	}
	set := func(status int, body string) { mu.Lock(); answer.status, answer.body = status, body; mu.Unlock() }
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/api/outstatic/refresh") {
			_, _ = io.WriteString(w, "page")
			return
		}
		mu.Lock()
		status, body := answer.status, answer.body
		mu.Unlock()
		// as next start writes NextResponse.json: gzipped when it may
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(status)
			gz := gzip.NewWriter(w)
			_, _ = io.WriteString(gz, body)
			_ = gz.Close()
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer app.Close()
	startGuard(t, app.URL)
	client := &http.Client{Transport: caddytest.CreateTestingTransport()}
	post := func(path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ports("http://blog.localhost:9080"+path), strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Encoding", "gzip") // as a browser sends it
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rd io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			if rd, err = gzip.NewReader(res.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(rd)
		return res, string(b)
	}
	const cleared = "ost_token=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
	for _, tc := range []struct {
		status int
		body   string
		clear  bool
	}{
		{401, `{"error":"Token refresh failed"}`, true},
		{401, `{"error":"Refresh token is expired"}`, true},
		{401, `{"error":"No active session found"}`, true},
		{200, `{"success":true,"expires":"2026-05-01T10:00:00.000Z","type":"refreshed"}`, false},
		{500, `{"error":"An unexpected error occurred"}`, false},
		{401, `{"error":"invalid-api-key"}`, false},
	} {
		set(tc.status, tc.body)
		for _, path := range []string{"/api/outstatic/refresh", "/outstatic/api/outstatic/refresh"} {
			res, body := post(path)
			cookies := res.Header.Values("Set-Cookie")
			if res.StatusCode != tc.status || body != tc.body {
				t.Errorf("%s answering %d %s: passed on as %d %s", path, tc.status, tc.body, res.StatusCode, body)
			}
			if tc.clear && (len(cookies) != 1 || cookies[0] != cleared) || !tc.clear && len(cookies) != 0 {
				t.Errorf("%s answering %d %s: Set-Cookie %q", path, tc.status, tc.body, cookies)
			}
		}
	}
	// other routes, and a GET of refresh, pass as they are
	set(401, `{"error":"Token refresh failed"}`)
	req, _ := http.NewRequest(http.MethodGet, ports("http://blog.localhost:9080/api/outstatic/refresh"), nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("GET refresh: Set-Cookie %q", res.Header.Values("Set-Cookie"))
	}
}

// TestGuardKeepsSessionsInAnOutage: the stock site answers a refresh that
// could not reach the relay as one the relay refused ("Token refresh
// failed"). A guard with the site's key asks the service on that answer:
// while it does not answer, the session is kept; once it answers, the
// cookie is cleared as before.
func TestGuardKeepsSessionsInAnOutage(t *testing.T) {
	g, svc := proSetup(t, true, nil)
	refreshFailed := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, err := io.WriteString(w, `{"error":"Token refresh failed"}`)
		return err
	})
	refresh := func() []string {
		t.Helper()
		r := request(http.MethodPost, "https://blog.example.com/api/outstatic/refresh", false)
		r.Header.Set("Origin", "https://blog.example.com")
		w := httptest.NewRecorder()
		if err := g.ServeHTTP(w, r, refreshFailed); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusUnauthorized || w.Body.String() != `{"error":"Token refresh failed"}` {
			t.Fatalf("the site's answer passed on as %d %s", w.Code, w.Body)
		}
		return w.Result().Header.Values("Set-Cookie")
	}
	checks := svc.Count("/outstatic/project")
	svc.SetMode(fakeservice.Fail)
	if cookies := refresh(); len(cookies) != 0 {
		t.Fatalf("service failing: Set-Cookie %q, want the session kept", cookies)
	}
	if svc.Count("/outstatic/project") == checks {
		t.Fatal("the guard did not ask the service")
	}
	svc.SetMode(fakeservice.Normal)
	if cookies := refresh(); len(cookies) != 1 || !strings.HasPrefix(cookies[0], "ost_token=;") {
		t.Fatalf("service answering: Set-Cookie %q, want the session cleared", cookies)
	}
}
