// Package demosite is the demo's stand-in for an Outstatic site: a Caddy
// handler (http.handlers.outstatic_demo, directive outstatic_demo) that
// shows what a site behind the guard receives (the Pro flags the guard
// injects) and completes a relay login as the stock site does: it redeems
// the exchange_token at the relay (#5) and shows the user and the
// session's expiry, never its tokens.
//
// It is registered only by cmd/caddy (the demo's binary), not by the
// plugin: it is no part of what xcaddy builds.
package demosite

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Site{})
	httpcaddyfile.RegisterHandlerDirective("outstatic_demo", parseCaddyfile)
	// a terminal handler, like respond
	httpcaddyfile.RegisterDirectiveOrder("outstatic_demo", httpcaddyfile.Before, "respond")
}

// Site is the demo site.
type Site struct {
	// Origin is the site's public origin, e.g. http://localhost:8080: the
	// demo starts logins through the guard there. Required.
	Origin string `json:"origin"`
	// Relay is the relay's base URL (the site's OUTSTATIC_API_URL), where
	// exchange tokens are redeemed. Required.
	Relay string `json:"relay"`

	client   *http.Client
	logger   *zap.Logger
	sessions *sessionMemory
}

// sessionMemory is what the demo remembers of each login, by the demo
// cookie's random id.
type sessionMemory struct {
	mu sync.Mutex
	m  map[string]shownSession
}

// shownSession is what the demo keeps of a login: what it may show. The
// tokens are dropped as soon as the relay's reply is read.
type shownSession struct {
	Email, Login, Name string
	Permissions        []string
	ExpiresAt          time.Time
}

const sessionCookie = "outstatic_demo_session"

// dashboardPath is where the stock site serves its dashboard: the path of
// the demo's callback_origin.
const dashboardPath = "/outstatic"

// maxSessions bounds the logins the demo remembers.
const maxSessions = 1000

//go:embed page.html page.css
var files embed.FS

var page = template.Must(template.New("page.html").ParseFS(files, "page.html"))

var pageCSS = func() template.CSS {
	b, _ := files.ReadFile("page.css")
	return template.CSS(b) // our own embedded file
}()

// CaddyModule returns the Caddy module information.
func (Site) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.outstatic_demo", New: func() caddy.Module { return new(Site) }}
}

// Provision sets up the client and the session memory.
func (s *Site) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	s.client = &http.Client{Timeout: 10 * time.Second,
		// the login route's answer is read here, not followed
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.sessions = &sessionMemory{m: map[string]shownSession{}}
	return nil
}

// Validate checks that both URLs are absolute http(s) URLs.
func (s *Site) Validate() error {
	for name, v := range map[string]string{"origin": s.Origin, "relay": s.Relay} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("outstatic_demo: %s %q must be an absolute http(s) URL", name, v)
		}
	}
	return nil
}

// ServeHTTP answers the demo's routes; it is a terminal handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/demo/login":
		return s.startLogin(w, r)
	case "/api/outstatic/callback", "/outstatic/api/outstatic/callback":
		return s.callback(w, r)
	case "/", dashboardPath, dashboardPath + "/":
		// The guard and the relay end a failed login on the dashboard's
		// path with ?error=: the demo shows it there as on its own page.
		return s.show(w, r)
	}
	http.NotFound(w, r)
	return nil
}

// startLogin does what the stock sign-in page's script does: it GETs the
// site's login route (which the guard answers with the relay's URL and a
// login binding cookie), hands the cookie to the browser and sends it on.
// The guard starts a login only for the site's own page, so the demo
// first checks that the click came from its page (Fetch Metadata, else
// Referer), then passes the Referer on, as the script's fetch would.
func (s *Site) startLogin(w http.ResponseWriter, r *http.Request) error {
	origin := strings.TrimSuffix(s.Origin, "/")
	ref := r.Header.Get("Referer")
	if site := r.Header.Get("Sec-Fetch-Site"); (site != "" && site != "same-origin") || !strings.HasPrefix(ref, origin+"/") {
		http.Error(w, "Start the login with the Log in button of "+origin+"/.", http.StatusForbidden)
		return nil
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, origin+"/api/outstatic/login", nil)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	req.Header.Set("Referer", ref)
	req.Header.Set("Accept", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return caddyhttp.Error(http.StatusBadGateway, err)
	}
	defer res.Body.Close()
	var out struct{ URL, Error string }
	_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&out)
	if res.StatusCode != http.StatusOK || out.URL == "" {
		http.Redirect(w, r, "/?error="+url.QueryEscape(cmpOr(out.Error, res.Status)), http.StatusSeeOther)
		return nil
	}
	for _, c := range res.Header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	http.Redirect(w, r, out.URL, http.StatusSeeOther)
	return nil
}

// callback redeems the exchange token at the relay, as the stock site
// does, with the callback the token was sent to.
func (s *Site) callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" || q.Get("exchange_token") == "" {
		http.Redirect(w, r, "/?error="+url.QueryEscape(cmpOr(e, "no exchange_token")), http.StatusSeeOther)
		return nil
	}
	body, _ := json.Marshal(map[string]string{"exchange_token": q.Get("exchange_token"),
		"callback_url": strings.TrimSuffix(s.Origin, "/") + r.URL.Path})
	res, err := s.client.Post(strings.TrimSuffix(s.Relay, "/")+"/outstatic/auth/exchange-token", "application/json", bytes.NewReader(body))
	if err != nil {
		return caddyhttp.Error(http.StatusBadGateway, err)
	}
	defer res.Body.Close()
	var out struct {
		Error string `json:"error"`
		User  struct {
			Email, Login, Name string
			Permissions        []string
		} `json:"user"`
		Session struct {
			ExpiresAt int64 `json:"expires_at"`
		} `json:"session"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		s.logger.Info("exchange token refused", zap.Int("status", res.StatusCode), zap.String("code", out.Error))
		http.Redirect(w, r, "/?error="+url.QueryEscape(cmpOr(out.Error, "session-error")), http.StatusSeeOther)
		return nil
	}
	id := make([]byte, 18)
	_, _ = rand.Read(id)
	sid := base64.RawURLEncoding.EncodeToString(id)
	s.sessions.mu.Lock()
	if len(s.sessions.m) >= maxSessions {
		// a demo on one machine: forgetting everyone beats growing forever
		clear(s.sessions.m)
	}
	s.sessions.m[sid] = shownSession{Email: out.User.Email, Login: out.User.Login, Name: out.User.Name,
		Permissions: out.User.Permissions, ExpiresAt: time.Unix(out.Session.ExpiresAt, 0).UTC()}
	s.sessions.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// view is what the page shows.
type view struct {
	CSS     template.CSS
	Flags   []flag
	Session *shownSession
	// Error is the code the login ended with, Explanation its line.
	Error, Explanation string
}

type flag struct{ Name, Value string }

// show renders what this request brought: the guard's flags and the
// demo session, if any.
func (s *Site) show(w http.ResponseWriter, r *http.Request) error {
	v := view{CSS: pageCSS, Error: r.URL.Query().Get("error")}
	if v.Error != "" {
		v.Explanation = explain(v.Error)
	}
	for _, h := range []string{"X-Outstatic-Pro", "X-Outstatic-Features", "X-Outstatic-Project"} {
		v.Flags = append(v.Flags, flag{h, r.Header.Get(h)})
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.mu.Lock()
		if sess, ok := s.sessions.m[c.Value]; ok {
			v.Session = &sess
		}
		s.sessions.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return page.Execute(w, v)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseCaddyfile reads:
//
//	outstatic_demo {
//	    origin <url>
//	    relay <url>
//	}
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(Site)
	return s, s.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile sets up the demo site from Caddyfile tokens.
func (s *Site) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	for d.NextBlock(0) {
		var dst *string
		switch d.Val() {
		case "origin":
			dst = &s.Origin
		case "relay":
			dst = &s.Relay
		default:
			return d.Errf("unknown subdirective %q of outstatic_demo", d.Val())
		}
		if !d.AllArgs(dst) {
			return d.ArgErr()
		}
	}
	if err := s.Validate(); err != nil {
		return d.Errf("%v", err)
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Site)(nil)
	_ caddy.Validator             = (*Site)(nil)
	_ caddyhttp.MiddlewareHandler = (*Site)(nil)
	_ caddyfile.Unmarshaler       = (*Site)(nil)
)
