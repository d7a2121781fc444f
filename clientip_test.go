package outstatic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// The login limits through the built Caddy, from several client addresses
// (the loopback network is 127.0.0.0/8: a client binds 127.0.0.2, another
// 127.0.0.3, and Caddy sees each as its own): two sites, blog and docs,
// each behind its guard, and the native relay both guards call from
// 127.0.0.1, as every guard calls for all of its browsers.

// clientIPStack is the running Caddy and what the tests need of it.
type clientIPStack struct {
	port, admin int
	blogKey     string
	docsKey     string
	smtp        *fakesmtp.Server
	app         *headerApp
	log         *bytes.Buffer
}

// headerApp is the site behind both guards: it records the headers of
// what reaches it.
type headerApp struct {
	mu   sync.Mutex
	seen []http.Header
}

func (a *headerApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.Header.Clone())
	a.mu.Unlock()
	_, _ = io.WriteString(w, "the site")
}

func (a *headerApp) last() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return nil
	}
	return a.seen[len(a.seen)-1]
}

// trustedProxy is the address the server takes X-Forwarded-For from.
const trustedProxy = "127.0.0.5"

// startClientIPStack runs the built Caddy with the two sites and the relay
// (start_limit 3 per hour), and stops it when the test ends.
func startClientIPStack(t *testing.T) *clientIPStack {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs caddy")
	}
	bin := caddyBinary(t)
	gh := adaGitHub()
	gh.Start()
	t.Cleanup(gh.Close)
	s := &clientIPStack{smtp: fakesmtp.Start(t, fakesmtp.Options{Username: "relay", Password: "smtp-secret"}),
		app: &headerApp{}, log: &bytes.Buffer{}}
	app := httptest.NewServer(s.app)
	t.Cleanup(app.Close)
	var blogHash, docsHash string
	var err error
	if s.blogKey, blogHash, _, err = relay.NewKey(); err != nil {
		t.Fatal(err)
	}
	if s.docsKey, docsHash, _, err = relay.NewKey(); err != nil {
		t.Fatal(err)
	}
	s.port, s.admin = freeLoopbackPort(), freeLoopbackPort()
	site := func(name, key string) string {
		return fmt.Sprintf(`
http://%[1]s.localhost:%[2]d {
	outstatic {
		callback_origin http://%[1]s.localhost:%[2]d/outstatic
		api_key {env.%[3]s}
		service http://127.0.0.1:%[2]d
		# the first check runs before the relay listens
		negative_ttl 1s
	}
	reverse_proxy %[4]s
}`, name, s.port, key, strings.TrimPrefix(app.URL, "http://"))
	}
	cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%[1]d
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
	storage file_system %[2]s
	servers {
		trusted_proxies static %[3]s/32
	}
}
http://127.0.0.1:%[4]d {
	outstatic_relay {
		public_url http://127.0.0.1:%[4]d
		project blog {
			callback_origin http://blog.localhost:%[4]d/outstatic
			repo acme/blog
			member bob@example.com editor
			member carol@example.com author
			key_sha256 %[5]s
		}
		project docs {
			callback_origin http://docs.localhost:%[4]d/outstatic
			repo acme/docs
			member bob@example.com editor
			key_sha256 %[6]s
		}
		github {
			client_id relay-client
			client_secret {env.TEST_GH_SECRET}
			base_url %[7]s
			api_url %[8]s
		}
		email {
			smtp %[9]s
			username relay
			password {env.TEST_SMTP_PASSWORD}
			from "Sites <login@example.com>"
			tls none
		}
		secret {env.TEST_RELAY_SECRET}
		start_limit 3 1h
	}
}
%[10]s
%[11]s
`, s.admin, t.TempDir(), trustedProxy, s.port, blogHash, docsHash, gh.URL(), gh.APIURL(), s.smtp.Addr,
		site("blog", "TEST_BLOG_KEY"), site("docs", "TEST_DOCS_KEY"))
	home := t.TempDir()
	path := filepath.Join(home, "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "TEST_GH_SECRET=relay-secret",
		"TEST_SMTP_PASSWORD=smtp-secret", "TEST_RELAY_SECRET=" + strings.Repeat("x", 40),
		"TEST_BLOG_KEY=" + s.blogKey, "TEST_DOCS_KEY=" + s.docsKey}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("caddy's output (end):\n%s", tail(s.log.String(), 6000))
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("caddy exited:\n%s", s.log)
		default:
		}
		if res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/outstatic/project", s.port)); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not answer within 30s:\n%s", s.log)
		}
	}
	// Both guards have checked their key with the relay: Pro reaches the
	// site.
	for _, site := range []string{"blog", "docs"} {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s.localhost:%d/", site, s.port), nil)
			if status, _ := s.do(t, from("127.0.0.1"), req); status == 200 && s.app.last().Get("X-Outstatic-Pro") == "true" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %s guard did not see its key Pro within 30s", site)
			}
		}
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// from is an HTTP client whose connections leave from the loopback
// address ip, so that Caddy sees a client of its own.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// every name of the stack is Caddy on 127.0.0.1
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req through c to the stack.
func (s *clientIPStack) do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(body))
}

// magicLink asks site's guard for a link for email, as the stock sign-in
// page's script does, from c, with extra headers.
func (s *clientIPStack) magicLink(t *testing.T, c *http.Client, site, email string, extra http.Header) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email})
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s.localhost:%d/api/outstatic/magic-link", site, s.port), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	for k, v := range extra {
		req.Header[k] = v
	}
	return s.do(t, c, req)
}

// flood asks site's guard for links for strangers from c until one is
// refused (the guard answers a relay's 429 as the stock site does: 500
// "Failed to send magic link"), and returns how many were accepted.
// vary, if set, gives each request its extra headers.
func (s *clientIPStack) flood(t *testing.T, c *http.Client, site string, vary func(i int) http.Header) int {
	t.Helper()
	for i := range 300 {
		var extra http.Header
		if vary != nil {
			extra = vary(i)
		}
		status, body := s.magicLink(t, c, site, fmt.Sprintf("stranger%d@example.net", i), extra)
		if status == http.StatusInternalServerError && body == `{"error":"Failed to send magic link"}` {
			return i
		}
		if status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, status, body)
		}
	}
	t.Fatal("300 requests and none refused")
	return 0
}

// messages waits for n messages and counts them by recipient and subject.
func (s *clientIPStack) messages(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		m := s.smtp.Wait(t, 20*time.Second)
		got[strings.Join(m.To, ",")+" "+m.Subject]++
	}
	return got
}

// TestMagicLinkLimitsPerClientBehindGuard: one client flooding blog's
// sign-in stops neither another client's magic link nor its own at docs;
// what a client sends as its address counts for nothing; a client asking
// again and again for someone's address does not use up that address.
func TestMagicLinkLimitsPerClientBehindGuard(t *testing.T) {
	s := startClientIPStack(t)
	a, b, c, d := from("127.0.0.2"), from("127.0.0.3"), from("127.0.0.4"), from("127.0.0.6")

	if n := s.flood(t, a, "blog", nil); n < 30 {
		t.Fatalf("client A was refused after %d links, want at least the burst of 30", n)
	}
	if status, body := s.magicLink(t, b, "blog", "bob@example.com", nil); status != 200 || body != `{"success":true}` {
		t.Fatalf("client B after A's flood: %d %s", status, body)
	}
	if status, body := s.magicLink(t, a, "docs", "bob@example.com", nil); status != 200 {
		t.Fatalf("client A at the other project: %d %s", status, body)
	}
	// A client naming itself differently on every request is still one.
	spoof := func(i int) http.Header {
		return http.Header{protocol.ClientIPHeader: {fmt.Sprintf("198.51.100.%d", i%250)},
			"X_outstatic_client_ip": {fmt.Sprintf("192.0.2.%d", i%250)}, "X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i%250)}}
	}
	if n := s.flood(t, c, "blog", spoof); n < 30 {
		t.Fatalf("client C was refused after %d links", n)
	}
	// The guard strips any copy a client sends before the site sees it.
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://blog.localhost:%d/posts", s.port), nil)
	req.Header = spoof(1)
	if status, _ := s.do(t, d, req); status != 200 {
		t.Fatalf("the site: %d", status)
	}
	for name := range s.app.last() {
		if protocol.FoldEqual(name, "x-outstatic-client-ip") {
			t.Errorf("the site saw %s: %q", name, s.app.last().Values(name))
		}
	}

	// D asks for carol's link until refused: its own budget for her.
	asked := 0
	for ; asked < 20; asked++ {
		if status, _ := s.magicLink(t, d, "blog", "carol@example.com", nil); status != 200 {
			break
		}
	}
	if asked == 20 || asked < 3 {
		t.Fatalf("client D had %d links to one address", asked)
	}
	if status, body := s.magicLink(t, b, "blog", "carol@example.com", nil); status != 200 {
		t.Fatalf("client B for the address D flooded: %d %s", status, body)
	}
	got := s.messages(t, 3+asked)
	for key, want := range map[string]int{
		"bob@example.com Your sign-in link for blog":   1,
		"bob@example.com Your sign-in link for docs":   1,
		"carol@example.com Your sign-in link for blog": asked + 1,
	} {
		if got[key] != want {
			t.Errorf("%q: %d messages, want %d (all: %v)", key, got[key], want, got)
		}
	}

	// the e-mail login, completed, counts as e-mail
	status, body := s.magicLink(t, b, "docs", "bob@example.com", nil)
	if status != 200 {
		t.Fatalf("docs link: %d %s", status, body)
	}
	msg := s.smtp.Wait(t, 20*time.Second)
	link := regexp.MustCompile(`http://\S+/outstatic/auth/email/verify\?t=[A-Za-z0-9_-]+`).FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link in %q", msg.Text)
	}
	confirmLink(t, s, link, fmt.Sprintf("http://docs.localhost:%d/outstatic/api/outstatic/magic-link-callback?exchange_token=", s.port))
	metrics := s.metrics(t)
	for _, want := range []string{
		`caddy_outstatic_relay_logins_total{outcome="completed",provider="email",reason=""} 1`,
		`caddy_outstatic_relay_logins_total{outcome="refused",provider="email",reason="too-many-requests"}`,
		`caddy_outstatic_relay_logins_total{outcome="started",provider="email",reason=""}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `provider="github",reason="too-many-requests"`) {
		t.Error("e-mail refusals counted on the GitHub provider")
	}
}

// confirmLink opens a login link's page and posts its form, as a person
// does, and checks it ends at callback.
func confirmLink(t *testing.T, s *clientIPStack, link, callback string) {
	t.Helper()
	c := from("127.0.0.3")
	jar := &cookieJar{}
	c.Jar = jar
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	status, page := s.do(t, c, req)
	fields := regexp.MustCompile(`name="(t|csrf)" value="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if status != 200 || len(fields) != 2 {
		t.Fatalf("link page: %d %s", status, page)
	}
	form := url.Values{fields[0][1]: {fields[0][2]}, fields[1][1]: {fields[1][2]}}
	req, _ = http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/outstatic/auth/email/confirm", s.port), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != 302 || !strings.HasPrefix(loc, callback) {
		t.Fatalf("confirm: %d %q", res.StatusCode, loc)
	}
}

// cookieJar keeps cookies by name, whatever the host: the stack is one
// Caddy.
type cookieJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

// metrics reads the admin API's metrics.
func (s *clientIPStack) metrics(t *testing.T) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", s.admin))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestStartLimitPerClientInCaddy: the relay's start route (start_limit 3
// per hour) counts per project and per client: Caddy's client IP, which
// behind a trusted proxy is the one X-Forwarded-For names, and from anyone
// else the peer, whatever it sends.
func TestStartLimitPerClientInCaddy(t *testing.T) {
	s := startClientIPStack(t)
	startURL := func(key string, site string) string {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"callback_url": fmt.Sprintf("http://%s.localhost:%d/outstatic/api/outstatic/callback", site, s.port)})
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/outstatic/auth/github-exchange", s.port), bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		status, body := s.do(t, from("127.0.0.1"), req)
		var out struct{ URL string }
		if status != 200 || json.Unmarshal([]byte(body), &out) != nil || out.URL == "" {
			t.Fatalf("github-exchange: %d %s", status, body)
		}
		return out.URL
	}
	blog, docs := startURL(s.blogKey, "blog"), startURL(s.docsKey, "docs")
	open := func(c *http.Client, u string, extra http.Header) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for k, v := range extra {
			req.Header[k] = v
		}
		status, _ := s.do(t, c, req)
		return status
	}
	spoof := func(i int) http.Header {
		return http.Header{protocol.ClientIPHeader: {fmt.Sprintf("198.51.100.%d", i)}, "X-Forwarded-For": {fmt.Sprintf("192.0.2.%d", i)}}
	}
	a := from("127.0.0.2")
	for i := range 3 {
		if status := open(a, blog, spoof(i)); status != http.StatusFound {
			t.Fatalf("start %d: %d", i+1, status)
		}
	}
	if status := open(a, blog, spoof(9)); status != http.StatusTooManyRequests {
		t.Fatalf("fourth start, naming another client: %d, want 429", status)
	}
	if status := open(from("127.0.0.3"), blog, nil); status != http.StatusFound {
		t.Fatalf("another client: %d", status)
	}
	if status := open(a, docs, nil); status != http.StatusFound {
		t.Fatalf("the same client at another project: %d", status)
	}
	// behind the trusted proxy: each browser X-Forwarded-For names
	proxy := from(trustedProxy)
	for i := range 3 {
		if status := open(proxy, blog, http.Header{"X-Forwarded-For": {"198.51.100.1"}}); status != http.StatusFound {
			t.Fatalf("browser 1 behind the proxy, start %d: %d", i+1, status)
		}
	}
	if status := open(proxy, blog, http.Header{"X-Forwarded-For": {"198.51.100.1"}}); status != http.StatusTooManyRequests {
		t.Fatalf("browser 1 behind the proxy, fourth start: %d", status)
	}
	if status := open(proxy, blog, http.Header{"X-Forwarded-For": {"198.51.100.2"}}); status != http.StatusFound {
		t.Fatalf("browser 2 behind the proxy: %d", status)
	}
	metrics := s.metrics(t)
	for _, want := range []string{
		`caddy_outstatic_relay_logins_total{outcome="refused",provider="github",reason="too-many-requests"} 2`,
		`caddy_outstatic_relay_logins_total{outcome="started",provider="github",reason=""} 9`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
