package forward

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// callbackEndpoint is an endpoint whose body carries a callback field, with
// the rest of the body the stock site sends (FACTS.md §1).
type callbackEndpoint struct {
	path  string
	field string
	magic bool
	body  map[string]any // without the callback field
}

var callbackEndpoints = []callbackEndpoint{
	{"/outstatic/auth/github-exchange", "callback_url", false, map[string]any{}},
	{"/outstatic/auth/google-exchange", "callbackUrl", false, map[string]any{"returnUrl": publicReturn}},
	{"/outstatic/auth/request-magic-link", "callbackUrl", true, map[string]any{"email": "a@b.co", "returnUrl": publicReturn}},
	{"/outstatic/auth/validate-github-user", "callback_url", false, map[string]any{"github_token": "gho_x"}},
}

// with returns the endpoint's body with field set to value.
func (e callbackEndpoint) with(t *testing.T, field string, value any) string {
	t.Helper()
	m := map[string]any{}
	for k, v := range e.body {
		m[k] = v
	}
	m[field] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCallbackFieldsRewrittenToPublic(t *testing.T) {
	// The bodies the stock site sends, byte for byte (FACTS.md §1), plus
	// a field the relay does not know, which must pass unchanged.
	cases := []struct {
		path, body string
		want       map[string]any
	}{
		{"/outstatic/auth/github-exchange",
			`{"callback_url":"http://localhost:3000/api/outstatic/callback"}`,
			map[string]any{"callback_url": publicCallback}},
		{"/outstatic/auth/google-exchange",
			`{"callbackUrl":"http://localhost:3000/api/outstatic/callback","returnUrl":"http://localhost:3000/outstatic"}`,
			map[string]any{"callbackUrl": publicCallback, "returnUrl": publicReturn}},
		{"/outstatic/auth/request-magic-link",
			`{"email":"a@b.co","callbackUrl":"http://localhost:3000/api/outstatic/magic-link-callback","returnUrl":"http://localhost:3000/outstatic"}`,
			map[string]any{"email": "a@b.co", "callbackUrl": publicMagic, "returnUrl": publicReturn}},
		{"/outstatic/auth/validate-github-user",
			`{"github_token":"gho_x","callback_url":"http://localhost:3000/api/outstatic/callback","extra":{"a":[1,2.5,null]}}`,
			map[string]any{"github_token": "gho_x", "callback_url": publicCallback,
				"extra": map[string]any{"a": []any{1.0, 2.5, nil}}}},
		// Already public, in an odd but equivalent spelling: sent canonical.
		{"/outstatic/auth/github-exchange",
			`{"callback_url":"HTTPS://Blog.Example.COM:443/api/outstatic/callback"}`,
			map[string]any{"callback_url": publicCallback}},
	}
	h := newHarness(t)
	for _, c := range cases {
		// With X-Forwarded-Proto: https the site sends https://localhost:3000.
		for _, scheme := range []string{"http", "https"} {
			body := strings.ReplaceAll(c.body, "http://localhost", scheme+"://localhost")
			resp, got := h.post(t, c.path, testKey, body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %s", c.path, body, resp.StatusCode, got)
			}
			rec := h.svc.Last(t)
			if rec.Path != c.path {
				t.Fatalf("service got %s, want %s", rec.Path, c.path)
			}
			if !reflect.DeepEqual(rec.JSON, c.want) {
				t.Errorf("%s: service got %s, want %v", c.path, rec.Body, c.want)
			}
			if got := rec.Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Errorf("%s: Authorization = %q", c.path, got)
			}
			if got := rec.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("%s: Content-Type = %q", c.path, got)
			}
		}
	}
	for _, rec := range h.svc.Requests() {
		if strings.Contains(string(rec.Body), "localhost") {
			t.Errorf("the service saw an app-host URL: %s %s", rec.Path, rec.Body)
		}
	}
}

func TestCallbackRewriteKeepsBasePath(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) {
		c.Targets = targets(t, false, "https://example.com/blog/outstatic", publicOrigin)
	})
	resp, body := h.post(t, "/outstatic/auth/google-exchange", testKey,
		`{"callbackUrl":"http://localhost:3000/blog/api/outstatic/callback","returnUrl":"http://localhost:3000/blog/outstatic"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	want := map[string]any{
		"callbackUrl": "https://example.com/blog/api/outstatic/callback",
		"returnUrl":   "https://example.com/blog/outstatic",
	}
	if rec := h.svc.Last(t); !reflect.DeepEqual(rec.JSON, want) {
		t.Errorf("service got %s, want %v", rec.Body, want)
	}
}

// vectorOrigins are the callback origins validate's shared vectors are
// written for.
var vectorOrigins = []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"}

type vector struct {
	URL  string `json:"url"`
	Want string `json:"want"`
}

// hostileVectors returns every line of validate's callback vectors that is
// not "accept".
func hostileVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("../../validate/testdata/callback-targets.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if v.Want != "accept" {
			out = append(out, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("only %d hostile vectors", len(out))
	}
	return out
}

// wantRefusal checks a refused callback: 400 with the vector's code, or
// either callback code for "reject".
func wantRefusal(t *testing.T, resp *http.Response, body, want, what string) {
	t.Helper()
	var e struct{ Error string }
	_ = json.Unmarshal([]byte(body), &e)
	ok := resp.StatusCode == http.StatusBadRequest && body == `{"error":"`+e.Error+`"}`
	switch want {
	case "reject":
		ok = ok && (e.Error == validate.CodeInvalidCallbackDomain || e.Error == validate.CodeInvalidCallbackTarget)
	default:
		ok = ok && e.Error == want
	}
	if !ok {
		t.Errorf("%s: got %d %s, want 400 %s", what, resp.StatusCode, body, want)
	}
}

func TestHostileCallbacksRefusedLocally(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) { c.Targets = targets(t, false, vectorOrigins...) })
	vectors := hostileVectors(t)
	// The app's own host in front of a hostile rest: the rewrite keeps the
	// rest byte for byte, and the check still refuses it.
	vectors = append(vectors,
		vector{"http://localhost:3000@evil.com/api/outstatic/callback", validate.CodeInvalidCallbackDomain},
		vector{"http://localhost:3000\\@evil.com/api/outstatic/callback", "reject"},
		vector{"http://localhost:3000/api/outstatic/callback?next=https://evil.com", validate.CodeInvalidCallbackTarget},
		vector{"http://localhost:3000/api/outstatic/login", validate.CodeInvalidCallbackTarget},
		vector{"http://localhost:3000/api/outstatic/../outstatic/callback", validate.CodeInvalidCallbackTarget},
		vector{"http://localhost:3000", validate.CodeInvalidCallbackTarget},
		vector{"javascript://localhost:3000/api/outstatic/callback", validate.CodeInvalidCallbackDomain},
		vector{"http://localhost:3000.evil.com/api/outstatic/callback", validate.CodeInvalidCallbackDomain},
		vector{"http://127.0.0.1:3000/api/outstatic/callback", validate.CodeInvalidCallbackDomain},
	)
	for _, ep := range callbackEndpoints {
		for _, v := range vectors {
			resp, body := h.post(t, ep.path, testKey, ep.with(t, ep.field, v.URL))
			wantRefusal(t, resp, body, v.Want, ep.path+" "+v.URL)
		}
	}
	// exchange-token, without a record: the same refusals.
	for _, v := range vectors {
		body, _ := json.Marshal(map[string]string{"exchange_token": "et_1", "callback_url": v.URL})
		resp, got := h.post(t, "/outstatic/auth/exchange-token", "", string(body))
		wantRefusal(t, resp, got, v.Want, "exchange-token "+v.URL)
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}

func TestHostileReturnURLsRefusedLocally(t *testing.T) {
	h := newHarness(t)
	cases := []vector{
		{"https://evil.example/outstatic", validate.CodeInvalidCallbackDomain},
		{"https://evil.example/x?error=", validate.CodeInvalidCallbackDomain},
		{"//evil.example/outstatic", "reject"},
		{"/outstatic", "reject"},
		{"https://blog.example.com.evil.example/outstatic", validate.CodeInvalidCallbackDomain},
		{"https://blog.example.com@evil.example/outstatic", validate.CodeInvalidCallbackDomain},
		{"http://blog.example.com/outstatic", validate.CodeInvalidCallbackDomain},
		{"http://localhost:3001/outstatic", validate.CodeInvalidCallbackDomain},
		{"http://localhost:3000@evil.example/outstatic", validate.CodeInvalidCallbackDomain},
		{"javascript:alert(1)", "reject"},
		{"https://blog.example.com/outstatic#x", validate.CodeInvalidCallbackTarget},
		{"https://blog.example.com//evil.example", validate.CodeInvalidCallbackTarget},
		{"http://localhost:3000//evil.example", validate.CodeInvalidCallbackTarget},
	}
	for _, ep := range callbackEndpoints {
		if _, ok := ep.body["returnUrl"]; !ok {
			continue
		}
		for _, field := range []string{"returnUrl", "return_url"} {
			for _, v := range cases {
				m := map[string]any{ep.field: publicCallback}
				for k, val := range ep.body {
					m[k] = val
				}
				m[field] = v.URL
				b, _ := json.Marshal(m)
				resp, body := h.post(t, ep.path, testKey, string(b))
				wantRefusal(t, resp, body, v.Want, ep.path+" "+field+" "+v.URL)
			}
		}
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}

func TestMalformedBodiesRefusedLocally(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) { c.MaxBodyBytes = 4 << 10 })
	for _, ep := range callbackEndpoints {
		for _, bad := range []any{nil, 42, true, []string{publicCallback}, map[string]string{"url": publicCallback}} {
			resp, body := h.post(t, ep.path, testKey, ep.with(t, ep.field, bad))
			wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		}
		// Missing altogether.
		b, _ := json.Marshal(ep.body)
		resp, body := h.post(t, ep.path, testKey, string(b))
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		// The other spelling is checked too, so the service cannot be
		// handed an unchecked one.
		other := "callbackUrl"
		if ep.field == "callbackUrl" {
			other = "callback_url"
		}
		m := map[string]any{ep.field: publicCallback, other: "https://evil.example/api/outstatic/callback"}
		b, _ = json.Marshal(m)
		resp, body = h.post(t, ep.path, testKey, string(b))
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)

		for _, raw := range []string{"", "null", "[]", `"x"`, "{", `{"callback_url":"` + publicCallback + `"} {}`} {
			resp, body := h.post(t, ep.path, testKey, raw)
			wantError(t, resp, body, http.StatusBadRequest, protocol.CodeInvalidRequest)
		}
		big := `{"pad":"` + strings.Repeat("x", 8<<10) + `","` + ep.field + `":"` + publicCallback + `"}`
		resp, body = h.post(t, ep.path, testKey, big)
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge)
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}

func TestNoCallbackOriginsConfigured(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) { c.Targets = validate.Targets{} })
	for _, ep := range callbackEndpoints {
		resp, body := h.post(t, ep.path, testKey, ep.with(t, ep.field, "http://localhost:3000/api/outstatic/callback"))
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeProjectURLNotConfigured)
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}

func TestExchangeToken(t *testing.T) {
	h := newHarness(t)
	const path = "/outstatic/auth/exchange-token"
	exchange := func(token, callback string) (*http.Response, string) {
		b, _ := json.Marshal(map[string]string{"exchange_token": token, "callback_url": callback})
		// The site sends no key here; a stray Authorization must not reach
		// the service either.
		hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testKey}}
		return h.send(t, http.MethodPost, path, hdr, string(b))
	}

	t.Run("recorded token", func(t *testing.T) {
		h.mem.Remember("et_recorded", publicCallback)
		resp, body := exchange("et_recorded", "http://localhost:3000/api/outstatic/callback")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		rec := h.svc.Last(t)
		want := map[string]any{"exchange_token": "et_recorded", "callback_url": publicCallback}
		if !reflect.DeepEqual(rec.JSON, want) {
			t.Errorf("service got %s, want %v", rec.Body, want)
		}
		if v := rec.Header.Values("Authorization"); len(v) != 0 {
			t.Errorf("service got Authorization %q", v)
		}

		// The record served one redemption; the app-host callback alone
		// is not enough.
		n := h.svc.Count()
		resp, body = exchange("et_recorded", "http://localhost:3000/api/outstatic/callback")
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)
		if h.svc.Count() != n {
			t.Error("the second redemption reached the service")
		}
	})

	t.Run("record beats a hostile callback from the site", func(t *testing.T) {
		h.mem.Remember("et_magic", publicMagic)
		resp, body := exchange("et_magic", "https://evil.example/api/outstatic/callback")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := h.svc.Last(t).JSON["callback_url"]; got != publicMagic {
			t.Errorf("service got callback %v", got)
		}
	})

	t.Run("recorded callback the relay does not allow", func(t *testing.T) {
		h.mem.Remember("et_evil", "https://evil.example/api/outstatic/callback")
		n := h.svc.Count()
		resp, body := exchange("et_evil", publicCallback)
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)
		if h.svc.Count() != n {
			t.Error("refused exchange reached the service")
		}
	})

	t.Run("no record, exact public callback", func(t *testing.T) {
		for _, cb := range []string{publicMagic, "HTTPS://BLOG.example.com:443/api/outstatic/callback"} {
			resp, body := exchange("et_unrecorded", cb)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", cb, resp.StatusCode, body)
			}
		}
		if got := h.svc.Last(t).JSON["callback_url"]; got != publicCallback {
			t.Errorf("service got callback %v, want the canonical %s", got, publicCallback)
		}
	})

	t.Run("no record, app-host callback", func(t *testing.T) {
		n := h.svc.Count()
		for _, cb := range []string{
			"http://localhost:3000/api/outstatic/callback",
			"https://localhost:3000/api/outstatic/magic-link-callback",
		} {
			resp, body := exchange("et_unrecorded", cb)
			wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)
		}
		resp, body := h.post(t, path, "", `{"exchange_token":"et_x"}`)
		wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		if h.svc.Count() != n {
			t.Error("refused exchange reached the service")
		}
	})
}

func TestPublicURL(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) { c.AppHosts = []string{"localhost:3000", "LOCALHOST:80", "[::1]:3000"} })
	cases := []struct{ in, want string }{
		{"http://localhost:3000/api/outstatic/callback", publicCallback},
		{"https://localhost:3000/api/outstatic/callback", publicCallback},
		{"HTTP://LocalHost:3000/x?y#z", publicSite + "/x?y#z"},
		{"http://localhost:3000", publicSite},
		{"http://localhost/x", publicSite + "/x"},
		{"http://localhost:80/x", publicSite + "/x"},
		{"http://[::1]:3000/x", publicSite + "/x"},
		{"https://localhost/x", "https://localhost/x"}, // 443 is not an app host
		{"http://localhost:3001/x", "http://localhost:3001/x"},
		{"http://localhost:3000@evil.com/x", "http://localhost:3000@evil.com/x"},
		{"http://localhost:3000\\@evil.com/x", publicSite + "\\@evil.com/x"},
		{"javascript://localhost:3000/x", "javascript://localhost:3000/x"},
		{"//localhost:3000/x", "//localhost:3000/x"},
		{"http://127.0.0.1:3000/x", "http://127.0.0.1:3000/x"},
		{"", ""},
	}
	for _, c := range cases {
		if got := h.fwd.publicURL(c.in); got != c.want {
			t.Errorf("relay.PublicURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A callback origin on the app's own address is a real callback there and
// is not moved to the primary public site.
func TestPublicURLKeepsConfiguredAppOrigin(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) {
		dev, err := validate.ParseOrigin("http://localhost:3000/outstatic")
		if err != nil {
			t.Fatal(err)
		}
		c.Targets.Origins = append(c.Targets.Origins, dev)
	})
	const dev = "http://localhost:3000/api/outstatic/callback"
	if got := h.fwd.publicURL(dev); got != dev {
		t.Fatalf("relay.PublicURL(%q) = %q", dev, got)
	}
	if got := h.fwd.publicURL("https://localhost:3000/api/outstatic/callback"); got != publicCallback {
		t.Fatalf("https app origin not rewritten: %q", got)
	}
}
