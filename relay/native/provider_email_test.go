package native

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
)

const magicCallback = "https://blog.example.com/outstatic/api/outstatic/magic-link-callback"

// emailEnv is the native environment with e-mail logins through a fake
// SMTP server on 127.0.0.1, and the relays' logs.
func emailEnv(t *testing.T) (*nativeEnv, *fakesmtp.Server, *observer.ObservedLogs) {
	t.Helper()
	return emailEnvWith(t, nil)
}

// emailEnvWith is emailEnv with edit applied to each relay's config too.
func emailEnvWith(t *testing.T, edit func(int, *NativeConfig)) (*nativeEnv, *fakesmtp.Server, *observer.ObservedLogs) {
	t.Helper()
	smtp := fakesmtp.Start(t, fakesmtp.Options{Username: "relay", Password: "smtp-secret"})
	core, logs := observer.New(zap.DebugLevel)
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		c.Email = &login.Email{Mail: mail.Config{Addr: smtp.Addr, Username: "relay", Password: "smtp-secret",
			From: "Blog <login@example.com>", TLS: "none", Timeout: 2 * time.Second}}
		c.Logger = zap.New(core)
		if edit != nil {
			edit(i, c)
		}
	})
	return env, smtp, logs
}

// askLink calls #4 on relay i.
func (e *nativeEnv) askLink(t *testing.T, i int, email string) (int, map[string]any) {
	t.Helper()
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/request-magic-link", e.key,
		map[string]string{"email": email, "callbackUrl": magicCallback, "returnUrl": "https://blog.example.com/outstatic/collections"})
	return status, out
}

// settle waits until every relay has sent what it was sending.
func (e *nativeEnv) settle() {
	for _, n := range e.relays {
		n.Logins().Wait()
	}
}

var linkRe = regexp.MustCompile(`https?://[^\s"<>]+/outstatic/auth/email/verify\?t=[A-Za-z0-9_-]+`)

// linkOf finds the login link in a captured message, in both parts.
func linkOf(t *testing.T, m fakesmtp.Message) string {
	t.Helper()
	link := linkRe.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, link) {
		t.Fatalf("no login link in both parts: text %q html %q", m.Text, m.HTML)
	}
	return link
}

// browser is a client with cookies that does not follow redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var formField = regexp.MustCompile(`name="(t|csrf)" value="([^"]+)"`)

// openLink GETs the link and returns the page's status, body and form.
func openLink(t *testing.T, c *http.Client, link string) (int, string, url.Values) {
	t.Helper()
	res, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, m := range formField.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], m[2])
	}
	return res.StatusCode, string(body), form
}

// confirm POSTs the page's form to relay i and returns status and Location.
func confirm(t *testing.T, c *http.Client, base string, form url.Values) (int, string) {
	t.Helper()
	res, err := c.PostForm(base+"/outstatic/auth/email/confirm", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

func TestEmailLoginEndToEnd(t *testing.T) {
	env, smtp, logs := emailEnv(t)
	// a member, named in another ASCII case than the members list: the
	// link goes to the address's key, the member's mailbox
	status, out := env.askLink(t, 0, "Bob@Example.COM")
	if status != 200 || out["success"] != true {
		t.Fatalf("request-magic-link: %d %v", status, out)
	}
	msg := smtp.Wait(t, 5*time.Second)
	if len(msg.To) != 1 || msg.To[0] != "bob@example.com" || !strings.Contains(msg.Subject, "blog") {
		t.Fatalf("message to %v, subject %q", msg.To, msg.Subject)
	}
	link := linkOf(t, msg)
	if !strings.HasPrefix(link, env.urls[0]+"/outstatic/auth/email/verify?t=") {
		t.Fatalf("link %q is not the relay's verify route", link)
	}

	// A scanner's GET does not spend it: the page only shows a form.
	scanner := browser()
	for range 2 {
		if status, _, form := openLink(t, scanner, link); status != 200 || form.Get("csrf") == "" {
			t.Fatalf("GET of the link: %d %v", status, form)
		}
	}
	// Without the page's cookie the form is refused (CSRF).
	c := browser()
	status, body, form := openLink(t, c, strings.Replace(link, env.urls[0], env.urls[1], 1))
	if status != 200 || !strings.Contains(body, "bob@example.com") || !strings.Contains(body, `method="post"`) {
		t.Fatalf("page: %d %s", status, body)
	}
	if s, _ := confirm(t, browser(), env.urls[1], form); s != http.StatusForbidden {
		t.Fatalf("confirm without the cookie: %d, want 403", s)
	}
	forged := url.Values{"t": {form.Get("t")}, "csrf": {"x" + form.Get("csrf")}}
	if s, _ := confirm(t, c, env.urls[1], forged); s != http.StatusForbidden {
		t.Fatalf("confirm with a wrong csrf token: %d, want 403", s)
	}
	// The POST spends it and ends at the site's magic-link callback.
	status, loc := confirm(t, c, env.urls[1], form)
	prefix := magicCallback + "?exchange_token="
	if status != http.StatusFound || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("confirm: %d %q", status, loc)
	}
	status, out, _ = env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": strings.TrimPrefix(loc, prefix), "callback_url": magicCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	user := out["user"].(map[string]any)
	if user["email"] != "bob@example.com" || len(user["permissions"].([]any)) != 2 ||
		out["return_url"] != "https://blog.example.com/outstatic/collections" {
		t.Fatalf("exchange-token: %v", out)
	}
	access := out["session"].(map[string]any)["access_token"].(string)

	// Used: neither the form nor the page works again, on either instance.
	if s, _ := confirm(t, c, env.urls[0], form); s != http.StatusForbidden && s != http.StatusGone {
		t.Fatalf("second confirm: %d", s)
	}
	c2 := browser()
	if status, _, form2 := openLink(t, c2, link); status != http.StatusGone || form2.Get("t") != "" {
		t.Fatalf("used link's page: %d", status)
	}

	// An e-mail session has no GitHub token: the parser and media say so,
	// and not with "Bad credentials", which would make the dashboard loop.
	for _, call := range []struct{ method, path string }{
		{"POST", "/github/parser"}, {"GET", "/outstatic/media/acme/blog/main/public/a.png"},
	} {
		req, _ := http.NewRequest(call.method, env.urls[0]+call.path, strings.NewReader(`{"query":"query { viewer { login } }"}`))
		req.Header.Set("Authorization", "Bearer "+access)
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || strings.TrimSpace(string(b)) != `{"error":"no-repository-access"}` {
			t.Fatalf("%s %s with an e-mail session: %d %s", call.method, call.path, res.StatusCode, b)
		}
	}
	for _, e := range logs.All() {
		for _, f := range e.Context {
			if strings.Contains(f.String, "ml_") || strings.Contains(f.String, "smtp-secret") {
				t.Fatalf("a log entry carries the link or the password: %v", e)
			}
		}
	}
}

func TestEmailLinkExpires(t *testing.T) {
	env, smtp, _ := emailEnv(t)
	env.askLink(t, 0, "bob@example.com")
	link := linkOf(t, smtp.Wait(t, 5*time.Second))
	c := browser()
	_, _, form := openLink(t, c, link)
	env.advance(login.DefaultLinkTTL + time.Second)
	if status, _, _ := openLink(t, browser(), link); status != http.StatusGone {
		t.Fatalf("expired link's page: %d, want 410", status)
	}
	if status, _ := confirm(t, c, env.urls[0], form); status != http.StatusGone {
		t.Fatalf("expired link's confirm: %d, want 410", status)
	}
}

func TestEmailNoEnumeration(t *testing.T) {
	// The sends are allowed an hour (see below).
	env, smtp, logs := emailEnvWith(t, func(_ int, c *NativeConfig) { c.Email.Mail.Timeout = time.Hour })
	// A member and a stranger get the same status and body.
	sm, bm := env.askLink(t, 0, "bob@example.com")
	ss, bs := env.askLink(t, 0, "stranger@example.com")
	if sm != ss || sm != 200 || bm["success"] != true || len(bm) != 1 || len(bs) != 1 || bs["success"] != true {
		t.Fatalf("member %d %v, stranger %d %v", sm, bm, ss, bs)
	}
	env.settle()
	smtp.Wait(t, time.Second)
	if smtp.Pending() != 0 {
		t.Fatal("a stranger was sent a message")
	}
	// The reply does not wait for the message, so time does not tell a
	// member from a stranger: with the SMTP server holding the connection
	// unanswered and the send allowed an hour (the relay's own bound on a
	// send, 35s, is then what would end it), the member's answer comes
	// while the send is still under way. A failed send does not change
	// the answer.
	smtp.Hang(true)
	if s, b := env.askLink(t, 1, "bob@example.com"); s != 200 || b["success"] != true {
		t.Fatalf("member with SMTP stuck: %d %v", s, b)
	}
	if n := logs.FilterMessage("sending a login link failed").Len(); n != 0 {
		t.Fatalf("the member's answer came after the send had failed: it waited for SMTP")
	}
	testwait.Until(t, "the relay connecting to the stuck SMTP server", func() bool { return smtp.Held() > 0 })
	smtp.Hang(false)
	smtp.Drop()
	env.settle()
	smtp.FailData(554)
	if s, b := env.askLink(t, 1, "bob@example.com"); s != 200 || b["success"] != true {
		t.Fatalf("member with SMTP failing: %d %v", s, b)
	}
	env.settle()
	if n := logs.FilterMessage("sending a login link failed").Len(); n != 2 {
		t.Fatalf("%d failed sends logged, want 2 (stuck, refused)", n)
	}
}

func TestEmailRateLimits(t *testing.T) {
	env, _, _ := emailEnv(t)
	// Per client and address, member or stranger alike: three, then 429.
	for _, who := range []string{"bob@example.com", "stranger@example.com"} {
		for i := range 4 {
			status, out := env.askLink(t, 0, who)
			want := 200
			if i == 3 {
				want = 429
			}
			if status != want || (want == 429 && out["error"] != "too-many-requests") {
				t.Fatalf("%s request %d: %d %v", who, i+1, status, out)
			}
		}
	}
	// The bucket refills.
	env.advance(login.LinkLimitPerClientAddress.Every)
	if status, _ := env.askLink(t, 0, "stranger@example.com"); status != 200 {
		t.Fatalf("after the refill: %d", status)
	}
	// Per client: a burst of addresses from one client ends in 429 too.
	refused := 0
	for i := range login.LinkLimitPerClient.Burst + 1 {
		if status, _ := env.askLink(t, 1, "someone"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.net"); status == 429 {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("per-client limit: %d refused, want 1", refused)
	}
	env.settle()
}

func TestEmailRefusals(t *testing.T) {
	env, _, _ := emailEnv(t)
	cases := []struct {
		name, auth string
		body       map[string]any
		status     int
		want       string
	}{
		{"bad key", "ost_nope", map[string]any{"email": "bob@example.com", "callbackUrl": magicCallback}, 401, `{"error":"Invalid API key"}`},
		{"no key", "", map[string]any{"email": "bob@example.com", "callbackUrl": magicCallback}, 401, `{"error":"Invalid API key"}`},
		{"no callback", env.key, map[string]any{"email": "bob@example.com"}, 400, `{"error":"invalid-callback-target"}`},
		{"foreign callback", env.key, map[string]any{"email": "bob@example.com", "callbackUrl": "https://evil.example/outstatic/api/outstatic/magic-link-callback"}, 400, `{"error":"invalid-callback-domain"}`},
		{"foreign return", env.key, map[string]any{"email": "bob@example.com", "callbackUrl": magicCallback, "returnUrl": "https://evil.example/"}, 400, `{"error":"invalid-callback-domain"}`},
		{"bad address", env.key, map[string]any{"email": "not an address", "callbackUrl": magicCallback}, 400, `{"error":"invalid-request"}`},
		{"named address", env.key, map[string]any{"email": "Bob <bob@example.com>", "callbackUrl": magicCallback}, 400, `{"error":"invalid-request"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawCall(t, env, "POST", "/outstatic/auth/request-magic-link", tc.auth, tc.body)
			if status != tc.status || body != tc.want {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	if status, body := rawCall(t, env, "GET", "/outstatic/auth/request-magic-link", env.key, nil); status != 405 {
		t.Fatalf("GET: %d %s", status, body)
	}
	for _, bad := range []string{"", "?t=", "?t=ml_forged"} {
		if status, _, _ := openLink(t, browser(), env.urls[0]+"/outstatic/auth/email/verify"+bad); status != 400 && status != 410 {
			t.Fatalf("verify %q: %d", bad, status)
		}
	}
	if status, _ := confirm(t, browser(), env.urls[0], url.Values{"t": {"ml_forged"}, "csrf": {"x"}}); status != 403 {
		t.Fatalf("confirm forged: %d", status)
	}
}

func TestEmailNotConfigured(t *testing.T) {
	env := newNativeEnv(t, nil)
	status, body := rawCall(t, env, "POST", "/outstatic/auth/request-magic-link", env.key, map[string]any{"email": "bob@example.com", "callbackUrl": magicCallback})
	if status != 501 || body != `{"error":"not-supported"}` {
		t.Fatalf("%d %s", status, body)
	}
}

// rawCall calls relay 0 and returns the status and the body as text.
func rawCall(t *testing.T, env *nativeEnv, method, path, auth string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(mustJSON(body))
	}
	req, _ := http.NewRequest(method, env.urls[0]+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, strings.TrimSpace(string(b))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestEmailLinkConcurrentConfirmsAcrossInstances(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(int, *NativeConfig)) {
		env, smtp, _ := emailEnvWith(t, edit)
		env.askLink(t, 0, "bob@example.com")
		link := linkOf(t, smtp.Wait(t, 5*time.Second))
		c := browser()
		_, _, form := openLink(t, c, link)
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", env.urls[i%2]+"/outstatic/auth/email/confirm", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for _, ck := range c.Jar.Cookies(req.URL) {
					req.AddCookie(ck)
				}
				res, err := env.client.Do(req)
				if err != nil {
					return
				}
				res.Body.Close()
				if res.StatusCode == http.StatusFound {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of 20 concurrent confirms of one link logged in, want 1", ok.Load())
		}
	})
}
