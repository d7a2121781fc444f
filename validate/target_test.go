package validate

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// Verdicts a case may want besides an exact error code.
const (
	wantAccept = "accept"
	wantReject = "reject" // either refusal code
)

// vectorOrigins are the callback origins the shared vectors are written for.
var vectorOrigins = []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"}

// targetCase is one callback target and the verdict wanted for it.
type targetCase struct {
	URL  string `json:"url"`
	Want string `json:"want"`
}

func mustTargets(tb testing.TB, strict bool, raws ...string) Targets {
	tb.Helper()
	t := Targets{Strict: strict}
	for _, raw := range raws {
		o, err := ParseOrigin(raw)
		if err != nil {
			tb.Fatal(err)
		}
		t.Origins = append(t.Origins, o)
	}
	return t
}

// checkVerdict runs one case and reports a wrong verdict.
func checkVerdict(t *testing.T, ts Targets, c targetCase) (Target, bool) {
	t.Helper()
	got, err := ts.Check(c.URL)
	if err == nil {
		if c.Want != wantAccept {
			t.Errorf("Check(%q) accepted as %q, want %s", c.URL, got.URL, c.Want)
		}
		return got, true
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("Check(%q) error %T %v, want *Error", c.URL, err, err)
		return Target{}, false
	}
	switch {
	case c.Want == wantAccept:
		t.Errorf("Check(%q) refused (%v), want accept", c.URL, err)
	case c.Want == wantReject:
		if e.Code != CodeInvalidCallbackDomain && e.Code != CodeInvalidCallbackTarget {
			t.Errorf("Check(%q) code %q, want a callback refusal", c.URL, e.Code)
		}
	case e.Code != c.Want:
		t.Errorf("Check(%q) = %v, want %s", c.URL, err, c.Want)
	}
	return Target{}, false
}

// loadVectors reads the shared vectors, or the copy in testdata when the
// shared folder is not beside the repository.
func loadVectors(tb testing.TB) []targetCase {
	tb.Helper()
	f, err := os.Open("../../shared/vectors/callback-targets.jsonl")
	if err != nil {
		f, err = os.Open("testdata/callback-targets.jsonl")
	}
	if err != nil {
		tb.Fatalf("no callback target vectors: %v", err)
	}
	defer f.Close()
	var out []targetCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c targetCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("vector %q: %v", sc.Text(), err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("no callback target vectors")
	}
	return out
}

func TestVectors(t *testing.T) {
	ts := mustTargets(t, false, vectorOrigins...)
	for _, c := range loadVectors(t) {
		checkVerdict(t, ts, c)
	}
}

func TestHostileTargets(t *testing.T) {
	if len(hostileCases) < 60 {
		t.Fatalf("only %d hostile cases", len(hostileCases))
	}
	ts := mustTargets(t, false, vectorOrigins...)
	for _, c := range hostileCases {
		checkVerdict(t, ts, c)
	}
}

func TestCheckAccepts(t *testing.T) {
	ts := mustTargets(t, false,
		"https://blog.example.com/outstatic",
		"http://localhost:3000/outstatic",
		"https://x.com/blog/outstatic",
		"http://[::1]:3000/outstatic",
		"http://127.0.0.1:8080/outstatic",
	)
	tests := []struct {
		raw, url, route string
		stock           bool
		origin          string
	}{
		{"https://blog.example.com/outstatic/api/outstatic/callback", "https://blog.example.com/outstatic/api/outstatic/callback", RouteCallback, false, "https://blog.example.com/outstatic"},
		{"HTTPS://BLOG.EXAMPLE.COM:443/api/outstatic/magic-link-callback", "https://blog.example.com/api/outstatic/magic-link-callback", RouteMagicLinkCallback, true, "https://blog.example.com/outstatic"},
		{"http://localhost:3000/outstatic/api/outstatic/magic-link-callback", "http://localhost:3000/outstatic/api/outstatic/magic-link-callback", RouteMagicLinkCallback, false, "http://localhost:3000/outstatic"},
		{"https://x.com/blog/outstatic/api/outstatic/callback", "https://x.com/blog/outstatic/api/outstatic/callback", RouteCallback, false, "https://x.com/blog/outstatic"},
		{"https://x.com/blog/api/outstatic/callback", "https://x.com/blog/api/outstatic/callback", RouteCallback, true, "https://x.com/blog/outstatic"},
		{"http://[::1]:3000/outstatic/api/outstatic/callback", "http://[::1]:3000/outstatic/api/outstatic/callback", RouteCallback, false, "http://[::1]:3000/outstatic"},
		{"http://[::1]:3000/api/outstatic/magic-link-callback", "http://[::1]:3000/api/outstatic/magic-link-callback", RouteMagicLinkCallback, true, "http://[::1]:3000/outstatic"},
		{"http://127.0.0.1:8080/outstatic/api/outstatic/callback", "http://127.0.0.1:8080/outstatic/api/outstatic/callback", RouteCallback, false, "http://127.0.0.1:8080/outstatic"},
		{"http://127.0.0.1:8080/api/outstatic/callback", "http://127.0.0.1:8080/api/outstatic/callback", RouteCallback, true, "http://127.0.0.1:8080/outstatic"},
	}
	for _, tt := range tests {
		got, err := ts.Check(tt.raw)
		if err != nil {
			t.Errorf("Check(%q): %v", tt.raw, err)
			continue
		}
		if got.URL != tt.url || got.Route != tt.route || got.StockForm != tt.stock || got.Origin.String() != tt.origin {
			t.Errorf("Check(%q) = %+v, want %s %s stock=%v %s", tt.raw, got, tt.url, tt.route, tt.stock, tt.origin)
		}
	}
}

func TestCheckCodes(t *testing.T) {
	ts := mustTargets(t, false,
		"https://x.com/blog/outstatic",
		"http://[::1]:3000/outstatic",
		"http://127.0.0.1:8080/outstatic",
	)
	cases := []targetCase{
		// A base path: only <base>/outstatic/api/... and <base>/api/...
		{"https://x.com/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com/outstatic/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com/blog/outstatic/outstatic/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com/Blog/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com/blog/api/outstatic/callback/", CodeInvalidCallbackTarget},
		{"https://x.com/blog/../blog/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com/blog/./api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://x.com:443/blog/api/outstatic/callback", wantAccept},
		{"https://www.x.com/blog/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://x.com/blog/api/outstatic/callback", CodeInvalidCallbackDomain},
		// IPv6
		{"http://[::1]:3000/outstatic/api/outstatic/callback", wantAccept},
		{"http://[0:0:0:0:0:0:0:1]:3000/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::0:1]:3000/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::1]/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::1]:3000:3000/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::1%25lo]:3000/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::ffff:127.0.0.1]:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://::1:3000/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://[::1]:3000/outstatic/api/outstatic/callback?", CodeInvalidCallbackTarget},
		// IPv4
		{"http://127.0.0.1:8080/api/outstatic/magic-link-callback", wantAccept},
		{"http://127.1:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://2130706433:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://0x7f.0.0.1:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://127.0.0.01:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://127.0.0.1.:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://localhost:8080/outstatic/api/outstatic/callback", CodeInvalidCallbackDomain},
		{"http://127.0.0.1:8080/outstatic/api/outstatic/callback#", CodeInvalidCallbackTarget},
	}
	for _, c := range cases {
		checkVerdict(t, ts, c)
	}
}

func TestCheckStrict(t *testing.T) {
	ts := mustTargets(t, true, vectorOrigins...)
	cases := []targetCase{
		{"https://blog.example.com/outstatic/api/outstatic/callback", wantAccept},
		{"https://blog.example.com/outstatic/api/outstatic/magic-link-callback", wantAccept},
		{"http://localhost:3000/outstatic/api/outstatic/callback", wantAccept},
		{"https://blog.example.com/api/outstatic/callback", CodeInvalidCallbackTarget},
		{"https://blog.example.com/api/outstatic/magic-link-callback", CodeInvalidCallbackTarget},
		{"http://localhost:3000/api/outstatic/magic-link-callback", CodeInvalidCallbackTarget},
		{"https://evil.com/api/outstatic/callback", CodeInvalidCallbackDomain},
	}
	for _, c := range cases {
		checkVerdict(t, ts, c)
	}
	if _, err := ts.Check("https://blog.example.com/api/outstatic/callback"); err == nil || !containsAll(err.Error(), "strict mode") {
		t.Errorf("strict refusal %v, want it to name strict mode", err)
	}
}

// TestCheckOverlappingOrigins: one URL can be the documented form of one
// origin and the stock form of another on the same site; the documented
// reading wins.
func TestCheckOverlappingOrigins(t *testing.T) {
	ts := mustTargets(t, false, "https://x.com/outstatic/outstatic", "https://x.com/outstatic")
	got, err := ts.Check("https://x.com/outstatic/api/outstatic/callback")
	if err != nil {
		t.Fatal(err)
	}
	if got.StockForm || got.Origin.Path != "/outstatic" {
		t.Errorf("got %+v, want the documented form of https://x.com/outstatic", got)
	}
	if n := len(ts.AllowedURLs()); n != 6 {
		t.Errorf("AllowedURLs() has %d URLs, want 6 (two shared): %q", n, ts.AllowedURLs())
	}
}

func TestCheckNotConfigured(t *testing.T) {
	for _, raw := range []string{"https://blog.example.com/outstatic/api/outstatic/callback", "", "garbage"} {
		_, err := Targets{}.Check(raw)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeProjectURLNotConfigured {
			t.Errorf("Check(%q) with no origins = %v, want %s", raw, err, CodeProjectURLNotConfigured)
		}
	}
}

func TestErrorReasons(t *testing.T) {
	ts := mustTargets(t, false, vectorOrigins...)
	tests := []struct{ raw, want string }{
		{"https://evil.com/outstatic/api/outstatic/callback", `"https://evil.com" matches no callback origin`},
		{"https://blog.example.com@evil.com/x", "userinfo"},
		{"https://blog.example.com/outstatic/api/outstatic/callback?", "query string"},
		{"https://blog.example.com/outstatic/api/outstatic/callback#", "fragment"},
		{"https://blog.example.com/outstatic/api/outstatic/%63allback", "percent-encoding"},
		{"https://blog.example.com/outstatic/api/outstatic/../outstatic/callback", `"." or ".."`},
		{`https://blog.example.com/outstatic\api/outstatic/callback`, "backslash"},
		{"https://blog.example.com/outstatic/api/outstatic/callback\n", "whitespace"},
		{"https://blog.example.com/outstatic/api/outstatic/login", "not a callback route"},
		{"https://blog.example.com//api/outstatic/callback", "empty path segments"},
		{"https://blog.example.com:0443/api/outstatic/callback", "leading zero"},
		{"ftp://blog.example.com/api/outstatic/callback", `scheme "ftp" is not allowed`},
	}
	for _, tt := range tests {
		_, err := ts.Check(tt.raw)
		if err == nil || !containsAll(err.Error(), tt.want) {
			t.Errorf("Check(%q) = %v, want it to say %q", tt.raw, err, tt.want)
		}
		if err != nil && !isLogSafe(err.Error()) {
			t.Errorf("Check(%q) reason %q holds raw control characters", tt.raw, err)
		}
	}
}
