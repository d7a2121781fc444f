package forward

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

func TestNewForwarderRefusesBadConfig(t *testing.T) {
	up, _ := url.Parse("https://outstatic.example/api")
	good := func() ForwardConfig {
		return ForwardConfig{Upstream: up, Keys: []string{testKey}, Verdicts: verdict.New(verdict.Options{Service: up.String()})}
	}
	base := good()
	defer base.Verdicts.(*verdict.Cache).Close()
	if _, err := NewForwarder(base); err != nil {
		t.Fatalf("good config: %v", err)
	}
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	cases := map[string]func(*ForwardConfig){
		"no upstream":        func(c *ForwardConfig) { c.Upstream = nil },
		"ftp upstream":       func(c *ForwardConfig) { c.Upstream = mustURL("ftp://outstatic.example/api") },
		"relative upstream":  func(c *ForwardConfig) { c.Upstream = mustURL("/api") },
		"upstream userinfo":  func(c *ForwardConfig) { c.Upstream = mustURL("https://u:p@outstatic.example/api") },
		"upstream query":     func(c *ForwardConfig) { c.Upstream = mustURL("https://outstatic.example/api?x=1") },
		"upstream fragment":  func(c *ForwardConfig) { c.Upstream = mustURL("https://outstatic.example/api#x") },
		"no keys":            func(c *ForwardConfig) { c.Keys = nil },
		"empty key":          func(c *ForwardConfig) { c.Keys = []string{testKey, ""} },
		"key with a space":   func(c *ForwardConfig) { c.Keys = []string{"ost_a b"} },
		"no verdicts":        func(c *ForwardConfig) { c.Verdicts = nil },
		"app host with path": func(c *ForwardConfig) { c.AppHosts = []string{"localhost:3000/x"} },
		"app host userinfo":  func(c *ForwardConfig) { c.AppHosts = []string{"a@localhost:3000"} },
	}
	for name, edit := range cases {
		cfg := good()
		edit(&cfg)
		_, err := NewForwarder(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "ost_a b") {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
		if c, ok := cfg.Verdicts.(*verdict.Cache); ok {
			c.Close()
		}
	}
}

func TestKeyCheck(t *testing.T) {
	h := newHarness(t)
	keyed := []struct {
		method, path, body string
		magic              bool
	}{
		{http.MethodGet, "/outstatic/project", "", false},
		{http.MethodPost, "/outstatic/auth/github-exchange", `{"callback_url":"` + publicCallback + `"}`, false},
		{http.MethodPost, "/outstatic/auth/google-exchange", `{"callbackUrl":"` + publicCallback + `"}`, false},
		{http.MethodPost, "/outstatic/auth/request-magic-link", `{"email":"a@b.co","callbackUrl":"` + publicMagic + `"}`, true},
		{http.MethodPost, "/outstatic/auth/validate-github-user", `{"github_token":"g","callback_url":"` + publicCallback + `"}`, false},
		{http.MethodPost, "/outstatic/generate", `{"prompt":"p"}`, false},
		{http.MethodPost, "/outstatic/scan", `{"projectId":"p","branch":"main"}`, false},
	}
	badAuth := [][]string{
		nil,
		{"Bearer " + wrongKey},
		{"Bearer " + testKey[:len(testKey)-1]},
		{"Bearer " + testKey + "x"},
		{"Bearer  " + testKey},
		{"Bearer "},
		{"Basic " + testKey},
		{testKey},
		{"Bearer " + wrongKey, "Bearer " + testKey},
		{"Bearer " + testKey, "Bearer " + wrongKey},
	}
	for _, ep := range keyed {
		for _, auth := range badAuth {
			hdr := http.Header{"Content-Type": {"application/json"}}
			if auth != nil {
				hdr["Authorization"] = auth
			}
			resp, body := h.send(t, ep.method, ep.path, hdr, ep.body)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %d Authorization headers: %d", ep.path, len(auth), resp.StatusCode)
			}
			if ep.magic {
				// The stock client parses this exact text (FACTS.md §2).
				wantError(t, resp, body, http.StatusUnauthorized, "Invalid API key")
			} else {
				wantError(t, resp, body, http.StatusUnauthorized, "invalid-api-key")
			}
		}
	}
	if n := h.svc.Count(); n != 0 {
		t.Fatalf("unknown keys reached the service %d times", n)
	}

	// A configured key is forwarded with the same Authorization, whatever
	// the service then says about it.
	for _, ep := range keyed[1:] {
		for _, auth := range []string{"Bearer " + testKey, "bearer " + testKey, "Bearer " + revokedKey} {
			hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}}
			resp, body := h.send(t, ep.method, ep.path, hdr, ep.body)
			if resp.StatusCode >= 300 {
				t.Fatalf("%s with %s: %d %s", ep.path, auth[:7], resp.StatusCode, body)
			}
			rec := h.svc.Last(t)
			if rec.Path != ep.path || len(rec.Header.Values("Authorization")) != 1 || rec.Header.Get("Authorization") != auth {
				t.Errorf("%s: service got %s with Authorization %q", ep.path, rec.Path, rec.Header.Values("Authorization"))
			}
		}
	}
}

func TestProjectFromVerdictCache(t *testing.T) {
	h := newHarness(t)
	get := func(key string) (*http.Response, string) {
		return h.send(t, http.MethodGet, "/outstatic/project", http.Header{"Authorization": {"Bearer " + key}}, "")
	}
	resp, body := get(testKey)
	if resp.StatusCode != http.StatusOK || body != fakeservice.CannedProjectBody {
		t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, fakeservice.CannedProjectBody)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	noCORS(t, resp)

	// Answered from the cache: no second call.
	n := h.svc.Count()
	if resp, body = get(testKey); resp.StatusCode != http.StatusOK || body != fakeservice.CannedProjectBody {
		t.Fatalf("again: %d %q", resp.StatusCode, body)
	}
	if h.svc.Count() != n {
		t.Error("a fresh verdict was checked again")
	}

	resp, body = get(revokedKey)
	wantError(t, resp, body, http.StatusUnauthorized, "invalid-api-key")

	n = h.svc.Count()
	resp, body = get(wrongKey)
	wantError(t, resp, body, http.StatusUnauthorized, "invalid-api-key")
	if h.svc.Count() != n {
		t.Error("an unknown key reached the service")
	}

	// The service goes down; past the TTL, within the grace, the site
	// still gets its project.
	h.svc.Server.Close()
	h.clock.Advance(2 * time.Minute)
	for range 2 {
		if resp, body = get(testKey); resp.StatusCode != http.StatusOK || body != fakeservice.CannedProjectBody {
			t.Fatalf("stale: got %d %q", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Past the grace, no verdict is left.
	h.clock.Advance(2 * time.Hour)
	resp, body = get(testKey)
	wantError(t, resp, body, http.StatusBadGateway, "service-unavailable")
}

func TestProjectWithoutVerdictIs502(t *testing.T) {
	h := newHarness(t)
	h.svc.SetMode(fakeservice.CannedError)
	resp, body := h.send(t, http.MethodGet, "/outstatic/project", http.Header{"Authorization": {"Bearer " + testKey}}, "")
	wantError(t, resp, body, http.StatusBadGateway, "service-unavailable")
	for _, rec := range h.svc.Requests() {
		if ua := rec.Header.Get("User-Agent"); ua != "caddy-outstatic" {
			t.Errorf("the project call was not the cache's own (User-Agent %q)", ua)
		}
	}
}

func TestGenerateStreamsResponse(t *testing.T) {
	h := newHarness(t)
	second := make(chan struct{})
	h.svc.Hook("/outstatic/generate", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "chunk-1;")
		http.NewResponseController(w).Flush()
		select {
		case <-second:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "chunk-2;")
	})
	req, _ := http.NewRequest(http.MethodPost, h.relay.URL+"/outstatic/generate", strings.NewReader(`{"prompt":"p"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := h.relay.Client().Do(req)
	if err != nil {
		close(second)
		t.Fatal(err)
	}
	defer resp.Body.Close()

	first := make(chan string, 1)
	go func() {
		buf := make([]byte, len("chunk-1;"))
		_, _ = io.ReadFull(resp.Body, buf)
		first <- string(buf)
	}()
	select {
	case got := <-first:
		if got != "chunk-1;" {
			t.Fatalf("first chunk %q", got)
		}
	case <-time.After(testwait.Bound):
		close(second)
		t.Fatal("the first chunk did not arrive before the second was sent")
	}
	close(second)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "chunk-2;" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestGenerateStreamsRequestBody(t *testing.T) {
	h := newHarness(t)
	const half1, half2 = `{"prompt":"first half `, `and second half"}`
	gotHalf := make(chan struct{})
	gotAll := make(chan string, 1)
	h.svc.Hook("/outstatic/generate", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, len(half1))
		if _, err := io.ReadFull(r.Body, buf); err != nil || string(buf) != half1 {
			gotAll <- fmt.Sprintf("first half %q, %v", buf, err)
			return
		}
		close(gotHalf)
		rest, _ := io.ReadAll(r.Body)
		gotAll <- string(buf) + string(rest)
		_, _ = io.WriteString(w, "ok")
	})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, h.relay.URL+"/outstatic/generate", pr)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := h.relay.Client().Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	if _, err := io.WriteString(pw, half1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gotHalf:
	case msg := <-gotAll:
		t.Fatal(msg)
	case <-time.After(testwait.Bound):
		pw.CloseWithError(io.ErrUnexpectedEOF)
		t.Fatal("the service did not get the first half before the second was written")
	}
	_, _ = io.WriteString(pw, half2)
	pw.Close()
	if got := <-gotAll; got != half1+half2 {
		t.Errorf("service got %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestForwardedCallsPassedOn(t *testing.T) {
	h := newHarness(t)
	hdr := http.Header{"Authorization": {"Bearer " + testKey}, "Content-Type": {"application/json"}}
	resp, body := h.send(t, http.MethodPost, "/outstatic/scan?x=1", hdr, `{"projectId":"p","branch":"main"}`)
	if resp.StatusCode != http.StatusAccepted || body != "scanned" || resp.Header.Get("Content-Type") != "application/x-scan" {
		t.Errorf("scan: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rec := h.svc.Last(t)
	if rec.FullPath != "/api/outstatic/scan" || rec.RawQuery != "x=1" || string(rec.Body) != `{"projectId":"p","branch":"main"}` {
		t.Errorf("service got %s?%s %s", rec.FullPath, rec.RawQuery, rec.Body)
	}
	if rec.Host != h.svc.Server.Listener.Addr().String() {
		t.Errorf("service got Host %q", rec.Host)
	}
	noCORS(t, resp)
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("the service's cookie was passed on")
	}

	// refresh-token carries no credential: none is passed on.
	resp, body = h.send(t, http.MethodPost, "/outstatic/auth/refresh-token", hdr, `{"refresh_token":"rt_1"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "at_2") {
		t.Errorf("refresh: %d %s", resp.StatusCode, body)
	}
	if rec := h.svc.Last(t); rec.Header.Get("Authorization") != "" || string(rec.Body) != `{"refresh_token":"rt_1"}` {
		t.Errorf("refresh: service got Authorization %q, body %s", rec.Header.Get("Authorization"), rec.Body)
	}
}

func TestMediaForwarded(t *testing.T) {
	h := newHarness(t)
	hdr := http.Header{
		"Authorization": {"Bearer at_1"},
		"Referer":       {"https://blog.example.com/outstatic/media-library"},
		"Cookie":        {"ost_token=secret"},
	}
	resp, body := h.send(t, http.MethodGet, "/outstatic/media/acme/blog/main/public/images/a%20b%3F.png?w=1", hdr, "")
	if resp.StatusCode != http.StatusOK || body != "\x89PNG" || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rec := h.svc.Last(t)
	if rec.FullPath != "/api/outstatic/media/acme/blog/main/public/images/a%20b%3F.png" || rec.RawQuery != "w=1" {
		t.Errorf("service got %s?%s", rec.FullPath, rec.RawQuery)
	}
	if rec.Header.Get("Authorization") != "Bearer at_1" || rec.Header.Get("Referer") != hdr.Get("Referer") || rec.Header.Get("Cookie") != "" {
		t.Errorf("service got headers %v", rec.Header)
	}
	// An encoded "/" stays encoded.
	if resp, body := h.send(t, http.MethodGet, "/outstatic/media/acme/blog/main/a%2Fb.png", hdr, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if rec := h.svc.Last(t); rec.FullPath != "/api/outstatic/media/acme/blog/main/a%2Fb.png" {
		t.Errorf("service got %s", rec.FullPath)
	}
}

func TestUpstreamWithTrailingSlash(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) {
		u := *c.Upstream
		u.Path += "/"
		c.Upstream = &u
	})
	resp, body := h.post(t, "/outstatic/scan", testKey, `{}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if rec := h.svc.Last(t); rec.FullPath != "/api/outstatic/scan" {
		t.Errorf("service got %s", rec.FullPath)
	}
}

func TestPrivateAndHopByHopHeadersDropped(t *testing.T) {
	h := newHarness(t)
	// Written by hand, so the relay receives exactly these headers.
	raw := "POST /github/parser HTTP/1.1\r\n" +
		"Host: relay.example\r\n" +
		"Authorization: Bearer at_1\r\n" +
		"X-Project-Id: proj_1\r\n" +
		"Content-Type: application/json\r\n" +
		"Connection: keep-alive, X-Secret\r\n" +
		"X-Secret: 1\r\n" +
		"Cookie: ost_token=secret\r\n" +
		"X-Forwarded-For: 203.0.113.9\r\n" +
		"X-Forwarded-Host: evil.example\r\n" +
		"X-Forwarded-Proto: https\r\n" +
		"Forwarded: for=203.0.113.9\r\n" +
		"X-Real-Ip: 203.0.113.9\r\n" +
		"Accept-Language: *\r\n" +
		"Referer: https://blog.example.com/outstatic\r\n" +
		"Origin: https://blog.example.com\r\n" +
		"Proxy-Authorization: Basic eDp4\r\n" +
		"Content-Length: 2\r\n\r\n{}"
	conn, err := net.Dial("tcp", h.relay.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testwait.Bound))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rec := h.svc.Last(t)
	for _, name := range []string{"X-Secret", "Cookie", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"Forwarded", "X-Real-Ip", "Accept-Language", "Referer", "Origin", "Proxy-Authorization"} {
		if v := rec.Header.Values(name); len(v) > 0 {
			t.Errorf("service got %s: %q", name, v)
		}
	}
	for name, want := range map[string]string{"Authorization": "Bearer at_1", "X-Project-Id": "proj_1", "Content-Type": "application/json"} {
		if got := rec.Header.Get(name); got != want {
			t.Errorf("service got %s %q, want %q", name, got, want)
		}
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("hang", func(t *testing.T) {
		h := newHarness(t, func(c *ForwardConfig) { c.ResponseHeaderTimeout = 300 * time.Millisecond })
		h.svc.SetMode(fakeservice.CannedHang)
		// The service holds every request until the relay leaves: the 502
		// comes after the request reached it, and the relay says the
		// header timeout is what ended it.
		for i, path := range []string{"/outstatic/scan", "/outstatic/auth/github-exchange"} {
			seen := h.svc.Count()
			resp, body := h.post(t, path, testKey, `{"callback_url":"`+publicCallback+`"}`)
			wantError(t, resp, body, http.StatusBadGateway, "service-unavailable")
			if h.svc.Count() == seen {
				t.Errorf("%s: 502 before the request reached the service", path)
			}
			failed := h.logs.FilterMessage("upstream failed").All()
			if len(failed) != i+1 {
				t.Fatalf("%s: %d upstream failures logged, want %d", path, len(failed), i+1)
			}
			if err, _ := failed[i].ContextMap()["error"].(string); !strings.Contains(err, "timeout awaiting response headers") {
				t.Errorf("%s: the call ended with %q, want the header timeout", path, err)
			}
		}
	})
	t.Run("slow within the timeout", func(t *testing.T) {
		h := newHarness(t)
		h.svc.SetMode(fakeservice.CannedSlow)
		if resp, body := h.post(t, "/outstatic/scan", testKey, `{}`); resp.StatusCode != http.StatusAccepted {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("down", func(t *testing.T) {
		h := newHarness(t)
		h.svc.Server.Close()
		for _, path := range []string{"/outstatic/generate", "/outstatic/auth/refresh-token", "/github/parser"} {
			hdr := http.Header{"Authorization": {"Bearer " + testKey}}
			resp, body := h.send(t, http.MethodPost, path, hdr, `{}`)
			wantError(t, resp, body, http.StatusBadGateway, "service-unavailable")
		}
	})
	t.Run("errors passed on as they are", func(t *testing.T) {
		h := newHarness(t)
		cb := `{"callback_url":"` + publicCallback + `"}`
		for mode, want := range map[string]struct {
			status int
			body   string
		}{
			fakeservice.CannedUnauth:    {401, `{"error":"invalid-api-key"}`},
			fakeservice.CannedError:     {500, `{"error":"boom"}`},
			fakeservice.CannedMalformed: {200, `{"url": "https://github.com/login`},
		} {
			h.svc.SetMode(mode)
			resp, body := h.post(t, "/outstatic/auth/github-exchange", testKey, cb)
			if resp.StatusCode != want.status || body != want.body {
				t.Errorf("%s: got %d %q, want %d %q", mode, resp.StatusCode, body, want.status, want.body)
			}
		}
	})
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := newHarness(t)
	auth := http.Header{"Authorization": {"Bearer " + testKey}}
	for _, path := range []string{
		"/", "/outstatic", "/outstatic/", "/outstatic/project/", "/api/outstatic/project",
		"/outstatic/auth/login", "/github/parser/", "/outstatic/PROJECT", "/github/graphql",
		"/outstatic/media/acme/blog/main", "/outstatic/media/acme/blog/main/",
		"/outstatic/media/acme//main/x.png", "/outstatic/media/acme/blog/main/../../../../project",
		"/outstatic/media/acme/blog/main/%2e%2e/x.png", "/outstatic/media/acme/blog/main/./x.png",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := h.send(t, method, path, auth, "")
			wantError(t, resp, body, http.StatusNotFound, "not-found")
		}
	}
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPost, "/outstatic/project", "GET"},
		{http.MethodHead, "/outstatic/project", "GET"},
		{http.MethodGet, "/outstatic/auth/github-exchange", "POST"},
		{http.MethodPut, "/outstatic/auth/exchange-token", "POST"},
		{http.MethodGet, "/outstatic/generate", "POST"},
		{http.MethodOptions, "/outstatic/generate", "POST"},
		{http.MethodOptions, "/outstatic/auth/google-exchange", "POST"},
		{http.MethodGet, "/github/parser", "POST, OPTIONS"},
		{http.MethodDelete, "/outstatic/media/acme/blog/main/x.png", "GET"},
	} {
		hdr := http.Header{"Authorization": {"Bearer " + testKey}, "Origin": {publicSite}, "Access-Control-Request-Method": {"POST"}}
		resp, body := h.send(t, c.method, c.path, hdr, "")
		if c.method == http.MethodHead {
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("HEAD %s: %d", c.path, resp.StatusCode)
			}
		} else {
			wantError(t, resp, body, http.StatusMethodNotAllowed, "method-not-allowed")
		}
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
		noCORS(t, resp)
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}
