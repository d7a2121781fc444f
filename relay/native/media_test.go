package native

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// pngBytes is a file no text handling would keep intact: NUL, CR LF, high
// bytes.
var pngBytes = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\xff\xfe\x00"

// session logs ada in on relay 0 and returns the access token.
func (e *nativeEnv) session(t *testing.T) string {
	t.Helper()
	token := tokenOf(t, e.login(t, 0))
	status, out, _ := e.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	return out["session"].(map[string]any)["access_token"].(string)
}

// media sends a media request to relay i with the session (the path is
// sent as written, escapes included) and returns the response with its
// body read; a body cut short comes back with readErr set.
func (e *nativeEnv) media(t *testing.T, i int, method, rawPath, access string) (res *http.Response, body string, readErr error) {
	t.Helper()
	req, err := http.NewRequest(method, e.urls[i]+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = "//" + req.URL.Host + rawPath
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	req.Header.Set("Referer", nativeSiteOrig+"/outstatic/media-library")
	res, err = e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, readErr := io.ReadAll(res.Body)
	return res, string(b), readErr
}

func TestNativeMediaStreamsRepositoryFiles(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.PutFile("main", "public/images/a b.png", pngBytes)
	env.gh.PutFile("main", "public/images/logo.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	env.gh.PutFile("main", "public/images/page.html", `<script>alert(1)</script>`)
	env.gh.PutFile("draft", "public/images/d.webp", "RIFFwebp")
	access := env.session(t)

	// On the other instance, the repository named in GitHub's case-blind way.
	res, body, err := env.media(t, 1, "GET", "/outstatic/media/ACME/Blog/main/public/images/a%20b.png", access)
	if err != nil || res.StatusCode != 200 || body != pngBytes {
		t.Fatalf("png: %d %v %q", res.StatusCode, err, body)
	}
	want := map[string]string{
		"Content-Type":            "image/png",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Cache-Control":           "private, max-age=300",
		"Content-Length":          strconv.Itoa(len(pngBytes)),
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("media answered CORS")
	}
	var contents int
	for _, r := range env.gh.Requests() {
		if strings.Contains(r.Path, "/contents/") {
			contents++
			if r.Path != "/api/v3/repos/acme/blog/contents/public/images/a b.png" || r.Query.Get("ref") != "main" ||
				!strings.HasPrefix(r.Authorization, "Bearer gho_") || r.Header.Get("Accept") != "application/vnd.github.raw" {
				t.Errorf("GitHub got %s?%s %q %q", r.Path, r.RawQuery, r.Authorization, r.Header.Get("Accept"))
			}
		}
	}
	if contents != 1 {
		t.Errorf("%d contents calls", contents)
	}

	for p, ct := range map[string]string{
		"/outstatic/media/acme/blog/main/public/images/logo.svg":  "image/svg+xml",
		"/outstatic/media/acme/blog/main/public/images/page.html": "application/octet-stream",
		"/outstatic/media/acme/blog/draft/public/images/d.webp":   "image/webp",
	} {
		res, _, _ := env.media(t, 0, "GET", p, access)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ct || res.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
			t.Errorf("%s: %d %q", p, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	res, body, _ = env.media(t, 0, "HEAD", "/outstatic/media/acme/blog/main/public/images/a%20b.png", access)
	if res.StatusCode != 200 || body != "" || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
}

func TestNativeMediaRefusals(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.PutFile("main", "public/images/a.png", pngBytes)
	access := env.session(t)
	for name, c := range map[string]struct {
		path   string
		status int
	}{
		"another owner":             {"/outstatic/media/evil/blog/main/public/images/a.png", 403},
		"another repository":        {"/outstatic/media/acme/other/main/public/images/a.png", 403},
		"non-ASCII owner":           {"/outstatic/media/%E2%84%AAacme/blog/main/a.png", 403},
		"missing file":              {"/outstatic/media/acme/blog/main/public/images/nope.png", 404},
		"a folder":                  {"/outstatic/media/acme/blog/main/public/images", 404},
		"unknown branch":            {"/outstatic/media/acme/blog/nope/public/images/a.png", 404},
		"encoded slash":             {"/outstatic/media/acme/blog/main/public%2Fimages/a.png", 400},
		"encoded slash, lowercase":  {"/outstatic/media/acme/blog/main/public%2fimages/a.png", 400},
		"encoded backslash":         {"/outstatic/media/acme/blog/main/public%5Cimages/a.png", 400},
		"encoded dot segment":       {"/outstatic/media/acme/blog/main/public/%2E%2E/README.md", 400},
		"double encoding":           {"/outstatic/media/acme/blog/main/public/%252E%252E/a.png", 400},
		"dot dot":                   {"/outstatic/media/acme/blog/main/public/../README.md", 400},
		"dot":                       {"/outstatic/media/acme/blog/main/./a.png", 400},
		"empty segment":             {"/outstatic/media/acme/blog/main/public//a.png", 400},
		"trailing slash":            {"/outstatic/media/acme/blog/main/public/", 400},
		"no file":                   {"/outstatic/media/acme/blog/main", 400},
		"backslash":                 {"/outstatic/media/acme/blog/main/public\\images/a.png", 400},
		"control character":         {"/outstatic/media/acme/blog/main/a%01.png", 400},
		"C1 control":                {"/outstatic/media/acme/blog/main/a%C2%85.png", 400},
		"invalid UTF-8":             {"/outstatic/media/acme/blog/main/a%FF.png", 400},
		"branch with ..":            {"/outstatic/media/acme/blog/ma..in/a.png", 400},
		"branch ending in .lock":    {"/outstatic/media/acme/blog/main.lock/a.png", 400},
		"branch starting with -":    {"/outstatic/media/acme/blog/-main/a.png", 400},
		"branch with @{":            {"/outstatic/media/acme/blog/main@%7B1%7D/a.png", 400},
		"branch with a colon":       {"/outstatic/media/acme/blog/main:x/a.png", 400},
		"branch with a space":       {"/outstatic/media/acme/blog/ma%20in/a.png", 400},
		"branch @":                  {"/outstatic/media/acme/blog/@/a.png", 400},
		"branch too long":           {"/outstatic/media/acme/blog/" + strings.Repeat("b", 256) + "/a.png", 400},
		"segment too long":          {"/outstatic/media/acme/blog/main/" + strings.Repeat("a", 256) + ".png", 400},
		"too many segments":         {"/outstatic/media/acme/blog/main/" + strings.Repeat("a/", 40) + "a.png", 400},
		"the repository's own file": {"/outstatic/media/acme/blog/main/public/images/a.png", 200},
	} {
		res, body, _ := env.media(t, 0, "GET", c.path, access)
		if res.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", name, res.StatusCode, body, c.status)
			continue
		}
		if c.status != 200 && (res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"error"`)) {
			t.Errorf("%s: %q %s is not a JSON error", name, res.Header.Get("Content-Type"), body)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if res, _, _ := env.media(t, 0, m, "/outstatic/media/acme/blog/main/public/images/a.png", access); res.StatusCode != 405 {
			t.Errorf("%s: %d", m, res.StatusCode)
		}
	}
	for name, tok := range map[string]string{"no session": "", "garbage": "nope"} {
		res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/public/images/a.png", tok)
		if res.StatusCode != 401 || !strings.Contains(body, "Bad credentials") {
			t.Errorf("%s: %d %s", name, res.StatusCode, body)
		}
	}
	// The session's GitHub token revoked at GitHub: the session is bad.
	for _, tok := range env.gh.Tokens() {
		env.gh.RevokeToken(tok.Value)
	}
	res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/public/images/a.png", access)
	if res.StatusCode != 401 || !strings.Contains(body, `"message":"Bad credentials"`) {
		t.Errorf("revoked GitHub token: %d %s", res.StatusCode, body)
	}
}

// ghFaults sits in front of the fake GitHub and breaks its contents calls
// on demand.
type ghFaults struct {
	mode   atomic.Value // string: "", "500", "hang", "chunked"
	gaveUp atomic.Int64 // hung calls whose client left
}

// install points cfg's API URL at a proxy to the one configured.
func (f *ghFaults) install(t *testing.T, cfg *NativeConfig) {
	f.mode.Store("")
	stop := make(chan struct{})
	target, _ := url.Parse(cfg.GitHub.APIURL)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/contents/") {
			proxy.ServeHTTP(w, r)
			return
		}
		switch f.mode.Load().(string) {
		case "500":
			http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		case "hang":
			// only the client leaving ends the call (or the test ending)
			select {
			case <-r.Context().Done():
				f.gaveUp.Add(1)
			case <-stop:
			}
		case "chunked":
			// No Content-Length: the size is known only by reading.
			w.WriteHeader(http.StatusOK)
			chunk := bytes.Repeat([]byte("x"), 100)
			for i := 0; i < 30; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
			}
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // before Close, which waits for the calls
	cfg.GitHub.APIURL = srv.URL + target.Path
}

func TestNativeMediaLimitsAndFailures(t *testing.T) {
	faults := &ghFaults{}
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { faults.install(t, c) })
	access := env.session(t)
	defer func(max int64, header time.Duration) { mediaMaxBytes, mediaHeaderTimeout = max, header }(mediaMaxBytes, mediaHeaderTimeout)
	mediaMaxBytes, mediaHeaderTimeout = 1000, 300*time.Millisecond

	env.gh.PutFile("main", "big.png", strings.Repeat("x", 1001))
	env.gh.PutFile("main", "fits.png", strings.Repeat("x", 1000))
	if res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/big.png", access); res.StatusCode != 413 {
		t.Errorf("over the limit by Content-Length: %d %s", res.StatusCode, body)
	}
	if res, body, err := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/fits.png", access); res.StatusCode != 200 || len(body) != 1000 || err != nil {
		t.Errorf("at the limit: %d %d %v", res.StatusCode, len(body), err)
	}
	// Without a Content-Length the stream is cut past the limit, and the
	// connection broken so the file is not taken as whole.
	faults.mode.Store("chunked")
	res, body, err := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/any.png", access)
	if res.StatusCode != 200 || err == nil || len(body) > 1001 {
		t.Errorf("streamed over the limit: %d, %d bytes, %v", res.StatusCode, len(body), err)
	}
	faults.mode.Store("500")
	if res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/fits.png", access); res.StatusCode != 502 {
		t.Errorf("GitHub 500: %d %s", res.StatusCode, body)
	}
	// A hung GitHub: the header timeout (300ms here) is what can end the
	// call, and GitHub sees the relay leave.
	faults.mode.Store("hang")
	env.client.Timeout = testwait.Bound
	if res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/fits.png", access); res.StatusCode != 502 {
		t.Errorf("GitHub hangs: %d %s", res.StatusCode, body)
	}
	testwait.Until(t, "GitHub seeing the relay leave the hung call", func() bool { return faults.gaveUp.Load() > 0 })
}

func TestSameRepoName(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"ACME", "acme", true}, {"Blog", "blog", true}, {"acme", "acme", true},
		{"\u212aacme", "kacme", false}, // the Kelvin sign folds to k in strings.EqualFold
		{"\u017fite", "site", false},   // and the long s to s
		{"acme", "acm", false}, {"", "acme", false},
	} {
		if got := sameRepoName(c.a, c.b); got != c.want {
			t.Errorf("sameRepoName(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestValidRefName(t *testing.T) {
	for name, want := range map[string]bool{
		"main": true, "v1.0": true, "feature-x": true, "release_2": true, "0123abcd": true,
		"": false, "@": false, ".hidden": false, "-x": false, "x.": false, "x.lock": false, "a..b": false,
		"a@{1}": false, "a b": false, "a~1": false, "a^": false, "a:b": false, "a?": false, "a*": false,
		"a[": false, "a\\b": false, "a\x7f": false, "a\tb": false,
	} {
		if got := validRefName(name); got != want {
			t.Errorf("validRefName(%q) = %v", name, got)
		}
	}
}

// FuzzParseMediaPath: whatever a request path is, an accepted one names
// four or more plain segments, none of which could climb or split.
func FuzzParseMediaPath(f *testing.F) {
	for _, s := range []string{
		"/outstatic/media/acme/blog/main/public/images/a%20b.png",
		"/outstatic/media/acme/blog/main/%2e%2e/x", "/outstatic/media/acme/blog/main/a%252Fb",
		"/outstatic/media/acme/blog/ma..in/a", "/outstatic/media/acme/blog/main/a\\b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		m, _, err := parseMediaPath(u)
		if err != nil {
			return
		}
		if !validRefName(m.branch) || len(m.segments) == 0 {
			t.Fatalf("%q: accepted %+v", raw, m)
		}
		for _, s := range append([]string{m.owner, m.repo, m.branch}, m.segments...) {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\%") {
				t.Fatalf("%q: accepted segment %q", raw, s)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("%q: control character in %q", raw, s)
				}
			}
		}
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			t.Fatalf("%q: accepted an encoded slash", raw)
		}
	})
}
