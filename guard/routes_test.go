package guard

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

func testOrigins(t testing.TB) []validate.Origin {
	var out []validate.Origin
	for _, raw := range []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"} {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestClassify(t *testing.T) {
	table := &originSet{origins: testOrigins(t)}
	for _, tc := range []struct {
		path       string
		auth       bool
		name       string
		documented bool
		canonical  bool
		sub        bool
	}{
		{"/", false, "", false, false, false},
		{"/blog/post", false, "", false, false, false},
		{"/api/outstatic/login", true, "login", false, true, false},
		{"/outstatic/api/outstatic/callback", true, "callback", true, true, false},
		{"/api/outstatic/media/a/b", true, "media", false, true, true},
		{"/API/outstatic/login", true, "login", false, false, false},
		{"/api//outstatic/login", true, "login", false, false, false},
		{"/api/x/../outstatic/login", true, "login", false, false, false},
	} {
		r := &http.Request{URL: &url.URL{Path: tc.path}, Host: "blog.example.com"}
		route, ok := table.classify(r, "https", "blog.example.com")
		if ok != tc.auth {
			t.Errorf("%s: auth %v, want %v", tc.path, ok, tc.auth)
			continue
		}
		if !ok {
			continue
		}
		if route.name != tc.name || route.documented != tc.documented || route.canonical != tc.canonical || route.sub != tc.sub {
			t.Errorf("%s: %+v", tc.path, route)
		}
		if route.origin == nil || route.origin.SiteOrigin() != "https://blog.example.com" {
			t.Errorf("%s: origin %v", tc.path, route.origin)
		}
	}
	// the right path on a host that is no callback origin's: an auth
	// route, with no origin, so that it is refused
	r := &http.Request{URL: &url.URL{Path: "/api/outstatic/login"}}
	if route, ok := table.classify(r, "https", "evil.example"); !ok || route.origin != nil {
		t.Errorf("foreign host: %+v %v", route, ok)
	}
}

// FuzzClassify checks that no path reaches an auth route of the site
// without being classified as one: whatever path.Clean and case folding
// make of it, a path whose cleaned, lowercased form starts with an auth
// prefix is an auth route, and it is canonical only if it was already
// clean and spelled as the prefix is.
func FuzzClassify(f *testing.F) {
	for _, p := range []string{"/", "/api/outstatic/login", "/outstatic/api/outstatic/callback", "/API/Outstatic/x",
		"/api//outstatic/login", "/a/../api/outstatic/user", "/api/outstatic/", "/outstatic"} {
		f.Add(p)
	}
	table := &originSet{origins: testOrigins(f)}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		r := &http.Request{URL: &url.URL{Path: p}}
		route, ok := table.classify(r, "https", "blog.example.com")
		folded := strings.ToLower(cleanForTest(p))
		reaches := strings.HasPrefix(folded, "/api/outstatic/") || strings.HasPrefix(folded, "/outstatic/api/outstatic/")
		if reaches && !ok {
			t.Fatalf("%q reaches an auth route but was not classified", p)
		}
		if ok && route.canonical && (!cleanPath(p) ||
			!strings.HasPrefix(p, "/api/outstatic/"+route.name) && !strings.HasPrefix(p, "/outstatic/api/outstatic/"+route.name)) {
			t.Fatalf("%q classified canonical: %+v", p, route)
		}
	})
}

// cleanForTest is path.Clean as classify applies it, trailing slash kept.
func cleanForTest(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// TestClassifyAsTheAppSplits: the app splits a path at its "/" before it
// decodes the segments, and resolves only whole dot segments ("..",
// "%2e%2e"), so "..%2F.." is one segment to it, which names no dot
// segment, while decoding first makes it two that cancel the route. Such
// a path reaches the route in the app and must be classified as one.
func TestClassifyAsTheAppSplits(t *testing.T) {
	table := &originSet{origins: testOrigins(t)}
	for _, tc := range []struct{ raw, name string }{
		{"/api/outstatic/callback/..%2F..%2F..", "callback"},
		{"/api/outstatic/callback/..%2f..", "callback"},
		{"/api/outstatic/callback/x%2F..%2F..%2F..%2F..", "callback"},
		{"/outstatic/api/outstatic/callback/..%2F..%2F..%2F..", "callback"},
		{"/api/outstatic/magic-link-callback/..%2F..%2F..", "magic-link-callback"},
		{"/api/outstatic/login/..%2F..%2F..", "login"},
		{"/api/outstatic/x/%2e%2e/callback/..%2F..%2F..", "callback"},
	} {
		u, err := url.ParseRequestURI(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		route, ok := table.classify(&http.Request{URL: u}, "https", "blog.example.com")
		if !ok || route.name != tc.name || route.canonical || route.origin == nil {
			t.Errorf("%s: auth %v, %+v; want the %s route, not canonical", tc.raw, ok, route, tc.name)
		}
		if !reachesAuthAPI(&http.Request{URL: u}) {
			t.Errorf("%s: not taken to reach the site's API", tc.raw)
		}
	}
}
