package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
)

// twoProjects adds a second project, docs, on the same site.
func twoProjects(c *NativeConfig) {
	docs := nativeProject()
	docs.Slug, docs.RepoSlug = "docs", "docs"
	c.Projects = append(c.Projects, docs)
}

// askLinkFor calls #4 on relay 0 with key, naming client in
// protocol.ClientIPHeader (none when client is nil).
func (e *nativeEnv) askLinkFor(t *testing.T, key string, client []string, email string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "callbackUrl": magicCallback})
	req, _ := http.NewRequest("POST", e.urls[0]+"/outstatic/auth/request-magic-link", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for _, c := range client {
		req.Header.Add(protocol.ClientIPHeader, c)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	return res.StatusCode, strings.TrimSpace(out.String())
}

// flood asks for links for strangers' addresses as client until one is
// refused, and returns how many were accepted.
func (e *nativeEnv) flood(t *testing.T, key string, client []string) int {
	t.Helper()
	for i := range 200 {
		status, body := e.askLinkFor(t, key, client, fmt.Sprintf("stranger%d@example.net", i))
		if status == http.StatusTooManyRequests {
			return i
		}
		if status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, status, body)
		}
	}
	t.Fatal("no request of 200 was refused")
	return 0
}

// TestEmailLimitsPerBrowserAndProject: behind the guard every call comes
// from one address; the limit is that of the browser the keyed call names,
// in its project. A flood from one browser stops neither another browser
// nor the same browser at another project, nor the site's own calls.
func TestEmailLimitsPerBrowserAndProject(t *testing.T) {
	env, _, _ := emailEnvWith(t, func(_ int, c *NativeConfig) { twoProjects(c) })
	docsKey, _, err := env.relays[0].Roster().CreateKey(context.Background(), "docs", false)
	if err != nil {
		t.Fatal(err)
	}
	a, b := []string{"203.0.113.7"}, []string{"198.51.100.9"}
	if n := env.flood(t, env.key, a); n != login.LinkLimitPerClient.Burst {
		t.Fatalf("browser A had %d links before the limit, want %d", n, login.LinkLimitPerClient.Burst)
	}
	if status, body := env.askLinkFor(t, env.key, b, "bob@example.com"); status != 200 {
		t.Fatalf("browser B after A's flood: %d %s", status, body)
	}
	if status, body := env.askLinkFor(t, docsKey, a, "bob@example.com"); status != 200 {
		t.Fatalf("browser A at another project: %d %s", status, body)
	}
	// the site's own calls name nobody: they count as its address
	if status, body := env.askLinkFor(t, env.key, nil, "bob@example.com"); status != 200 {
		t.Fatalf("the site's own call after A's flood: %d %s", status, body)
	}
	// an IPv6 browser is its /64: another address in it is the same one
	if n := env.flood(t, env.key, []string{"2001:db8:1:2::1"}); n != login.LinkLimitPerClient.Burst {
		t.Fatalf("IPv6 browser: %d links", n)
	}
	if status, _ := env.askLinkFor(t, env.key, []string{"2001:db8:1:2:ffff::9"}, "bob@example.com"); status != 429 {
		t.Fatalf("the same /64: %d, want 429", status)
	}
	if status, _ := env.askLinkFor(t, env.key, []string{"::ffff:203.0.113.7"}, "bob@example.com"); status != 429 {
		t.Fatalf("A's address in its IPv4-mapped form: %d, want 429", status)
	}
	// A keyed call that names its browser by anything but one address is
	// refused, not counted as the caller's.
	for _, bad := range [][]string{{"203.0.113.7, 198.51.100.9"}, {"203.0.113.7", "198.51.100.9"}, {"blog.example.com"}, {""}} {
		if status, body := env.askLinkFor(t, env.key, bad, "bob@example.com"); status != 400 || body != `{"error":"invalid-request"}` {
			t.Errorf("client header %q: %d %s", bad, status, body)
		}
	}
	// Without a good key the header is never read: the key's refusal.
	if status, body := env.askLinkFor(t, "ost_wrong", []string{"not an address"}, "bob@example.com"); status != 401 || body != `{"error":"Invalid API key"}` {
		t.Errorf("bad key with a client header: %d %s", status, body)
	}
	env.settle()
}

// TestEmailAddressTiers: a browser asking again and again for someone's
// address spends its own budget for that address, not the address's; the
// address's own budget bounds what every browser together sends it.
func TestEmailAddressTiers(t *testing.T) {
	env, _, _ := emailEnv(t)
	ask := func(client, who string) int {
		t.Helper()
		status, _ := env.askLinkFor(t, env.key, []string{client}, who)
		return status
	}
	for i := range login.LinkLimitPerClientAddress.Burst {
		if s := ask("203.0.113.1", "bob@example.com"); s != 200 {
			t.Fatalf("request %d: %d", i+1, s)
		}
	}
	for range 5 {
		if s := ask("203.0.113.1", "bob@example.com"); s != 429 {
			t.Fatalf("past the client's budget for the address: %d", s)
		}
	}
	if s := ask("203.0.113.1", "other@example.com"); s != 200 {
		t.Fatalf("the same browser, another address: %d", s)
	}
	if s := ask("203.0.113.2", "bob@example.com"); s != 200 {
		t.Fatalf("another browser for the address the first flooded: %d", s)
	}
	// every browser together: the address's budget
	sent := login.LinkLimitPerClientAddress.Burst + 1
	for c := 3; sent < login.LinkLimitPerAddress.Burst; c++ {
		for range login.LinkLimitPerClientAddress.Burst {
			if sent == login.LinkLimitPerAddress.Burst {
				break
			}
			if s := ask(fmt.Sprintf("203.0.113.%d", c), "bob@example.com"); s != 200 {
				t.Fatalf("link %d to the address: %d", sent+1, s)
			}
			sent++
		}
	}
	if s := ask("203.0.113.200", "bob@example.com"); s != 429 {
		t.Fatalf("past the address's budget, from a fresh browser: %d", s)
	}
	env.advance(login.LinkLimitPerAddress.Every)
	if s := ask("203.0.113.200", "bob@example.com"); s != 200 {
		t.Fatalf("after the address's refill: %d", s)
	}
	env.settle()
}

// TestStartLimitPerProjectAndClient: the start routes (GitHub's and the
// OpenID Connect issuer's) are limited per project and per client address;
// a client header on them, which a browser can send, counts for nothing.
func TestStartLimitPerProjectAndClient(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	var mu sync.Mutex
	ip := "192.0.2.1"
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		twoProjects(c)
		c.StartLimit = login.StartLimit{Burst: 2, Every: time.Hour}
		c.ClientIP = func(*http.Request) string { mu.Lock(); defer mu.Unlock(); return ip }
		c.OIDC = &login.OIDC{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	})
	setIP := func(v string) { mu.Lock(); ip = v; mu.Unlock() }
	docsKey, _, err := env.relays[0].Roster().CreateKey(context.Background(), "docs", false)
	if err != nil {
		t.Fatal(err)
	}
	startURL := func(key, path string, body map[string]string) string {
		t.Helper()
		status, out, _ := env.call(t, 0, "POST", path, key, body)
		u, _ := out["url"].(string)
		if status != 200 || u == "" {
			t.Fatalf("%s: %d %v", path, status, out)
		}
		return u
	}
	open := func(u, spoof string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if spoof != "" {
			req.Header.Set(protocol.ClientIPHeader, spoof)
			req.Header.Set("X_Outstatic_Client_Ip", spoof)
		}
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); strings.HasPrefix(loc, nativeCallback) {
			t.Fatalf("the start went back to the site: %q", loc)
		}
		return res.StatusCode
	}
	starts := map[string]func() string{
		"github": func() string {
			return startURL(env.key, "/outstatic/auth/github-exchange", map[string]string{"callback_url": nativeCallback})
		},
		"oidc": func() string {
			return startURL(env.key, "/outstatic/auth/google-exchange", map[string]string{"callbackUrl": nativeCallback})
		},
	}
	for name, mint := range starts {
		// one limit covers both routes: let it refill before each
		env.advance(2 * time.Hour)
		u := mint()
		setIP("192.0.2.1")
		// a fresh client header on every start, as a flood would send
		for i := range 2 {
			if s := open(u, fmt.Sprintf("198.51.100.%d", 10*i+len(name))); s != http.StatusFound {
				t.Fatalf("%s start %d: %d", name, i+1, s)
			}
		}
		if s := open(u, "198.51.100.99"); s != http.StatusTooManyRequests {
			t.Fatalf("%s: third start with a spoofed client header: %d, want 429", name, s)
		}
		setIP("192.0.2.2")
		if s := open(u, ""); s != http.StatusFound {
			t.Fatalf("%s: another client: %d", name, s)
		}
	}
	env.advance(2 * time.Hour)
	github := starts["github"]()
	docs := startURL(docsKey, "/outstatic/auth/github-exchange", map[string]string{"callback_url": nativeCallback})
	setIP("192.0.2.1")
	for i := range 2 {
		if s := open(github, ""); s != http.StatusFound {
			t.Fatalf("blog start %d: %d", i+1, s)
		}
	}
	if s := open(github, ""); s != http.StatusTooManyRequests {
		t.Fatalf("blog, third start: %d", s)
	}
	if s := open(docs, ""); s != http.StatusFound {
		t.Fatalf("the same client at another project: %d", s)
	}
}

// TestLoginMetricsPerProvider: each step counts on the provider of its
// login, e-mail included, with bounded reasons.
func TestLoginMetricsPerProvider(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	env, smtp, _ := emailEnvWith(t, func(_ int, c *NativeConfig) {
		c.CountLogin = func(provider, outcome, reason string) {
			mu.Lock()
			counts[provider+" "+outcome+" "+reason]++
			mu.Unlock()
		}
		c.OIDC = &login.OIDC{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	})
	tokenOf(t, env.login(t, 0))
	// an e-mail login, through its link
	if status, _ := env.askLink(t, 0, "bob@example.com"); status != 200 {
		t.Fatalf("magic link: %d", status)
	}
	link := linkOf(t, smtp.Wait(t, 10*time.Second))
	page := browser()
	status, _, form := openLink(t, page, link)
	if status != 200 {
		t.Fatalf("link page: %d", status)
	}
	if status, loc := confirm(t, page, env.urls[0], form); status != 302 || !strings.Contains(loc, "exchange_token=") {
		t.Fatalf("confirm: %d %q", status, loc)
	}
	// refused at the e-mail's rate limit, and at the OIDC callback: a code
	// the issuer never issued, then the same state again
	for range login.LinkLimitPerClientAddress.Burst {
		env.askLink(t, 0, "limited@example.com")
	}
	if status, _ := env.askLink(t, 0, "limited@example.com"); status != 429 {
		t.Fatalf("past the limit: %d", status)
	}
	authorize := env.googleStart(t, 0, map[string]any{"callbackUrl": nativeCallback})
	u, _ := url.Parse(authorize)
	state := u.Query().Get("state")
	cb := env.urls[0] + "/outstatic/auth/oidc/callback?code=x&state=" + url.QueryEscape(state)
	env.follow(t, cb)
	if status, _ := env.follow(t, cb); status != http.StatusFound {
		t.Fatalf("replayed OIDC state: %d", status)
	}
	env.settle()
	mu.Lock()
	defer mu.Unlock()
	for key, want := range map[string]int{
		"github started ":                         1,
		"github completed ":                       1,
		"email started ":                          1 + 3,
		"email completed ":                        1,
		"email refused too-many-requests":         1,
		"oidc:google started ":                    1,
		"oidc:google refused google-relay-failed": 1,
		"oidc:google refused invalid-state":       1,
	} {
		if counts[key] != want {
			t.Errorf("%q counted %d times, want %d (all: %v)", key, counts[key], want, counts)
		}
	}
	for key := range counts {
		if strings.HasPrefix(key, "github refused") {
			t.Errorf("a refusal counted on the main provider: %q", key)
		}
	}
}
