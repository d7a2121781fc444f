// Package doctor checks a caddy-outstatic deployment end to end: what the
// Caddy config says (FromConfig reads it from the adapted JSON that the
// `caddy outstatic doctor` command hands in) against what the network
// answers. Each check gives findings, each with what to change. It does
// not import Caddy.
package doctor

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Guard is one guard of the config, as the doctor needs it.
type Guard struct {
	// Server names the Caddy server the guard is in, for messages.
	Server string
	// CallbackOrigins as configured.
	CallbackOrigins []string
	// AppOrigins as configured; none means protocol.DefaultAppHosts.
	AppOrigins []string
	// APIKey, expanded; "" for a guard without one.
	APIKey string
	// Service is the key check's base URL; "" means protocol.DefaultService.
	Service string
	// Upstreams are the dial addresses of the reverse_proxy handlers of
	// the guard's server: where the site listens.
	Upstreams []string
	// ProxyFirst: a reverse_proxy of the server runs before the guard, so
	// the site gets requests the guard never saw.
	ProxyFirst bool
}

// Redis is a Redis the config uses, in any of its forms.
type Redis struct {
	// Where names the subdirective, for messages ("relay storage").
	Where string
	// Config is the storage's or token_store's redis block.
	Config store.RedisConfig
	// Expand replaces the config's placeholders (the password's); nil
	// replaces none.
	Expand func(string) string
}

// Deployment is what to check.
type Deployment struct {
	Guards []Guard
	// SiteEnv is the site's .env, if given.
	SiteEnv map[string]string
	// SiteURL is the site's public URL as visitors type it, if given: it
	// must be a callback origin's site.
	SiteURL string
	// StorageDir is Caddy's file storage, checked for writing; "" skips.
	StorageDir string
	Redis      []Redis
	// MaxSkew is the clock difference with the service that is a
	// finding. Default: DefaultMaxSkew.
	MaxSkew time.Duration
	// Client makes every request; it must not follow redirects. Default:
	// one with a 10s timeout that does not.
	Client *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Admin is Caddy's admin API as the config sets it; nil when the
	// config turns it off.
	Admin *Admin
	// DevLogin lists the public_url of each relay with dev_login on.
	DevLogin []string
}

// DefaultMaxSkew: the relay's tokens are sealed with expiries in seconds
// and the site's cookie with Max-Age; a minute apart starts to show.
const DefaultMaxSkew = 30 * time.Second

// Finding is one line of the report.
type Finding struct {
	// Check names what was checked ("callback origin", "key", ...).
	Check string `json:"check"`
	// OK is true for a check that passed.
	OK bool `json:"ok"`
	// Subject is what the check was about (an origin, an address).
	Subject string `json:"subject"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix says what to change; empty when OK.
	Fix string `json:"fix,omitempty"`
	// Warn marks a finding that does not fail the run: the deployment
	// works, but should not be left so.
	Warn bool `json:"warn,omitempty"`
}

// String is the report's line: "ok" or "FINDING", the check, the
// subject, what was found and what to change.
func (f Finding) String() string {
	if f.OK {
		return fmt.Sprintf("ok       %s %s: %s", f.Check, f.Subject, f.Detail)
	}
	if f.Warn {
		return fmt.Sprintf("WARN     %s %s: %s; fix: %s", f.Check, f.Subject, f.Detail, f.Fix)
	}
	return fmt.Sprintf("FINDING  %s %s: %s; fix: %s", f.Check, f.Subject, f.Detail, f.Fix)
}

// Failed reports whether any finding is not OK, warnings aside.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if !f.OK && !f.Warn {
			return true
		}
	}
	return false
}

// Check runs every check that d has the inputs for, in a fixed order.
func Check(ctx context.Context, d Deployment) []Finding {
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxSkew <= 0 {
		d.MaxSkew = DefaultMaxSkew
	}
	r := &run{d: d}
	if d.Admin != nil {
		r.admin(ctx, *d.Admin)
	}
	for _, u := range d.DevLogin {
		r.devLogin(u)
	}
	// A guard without callback_origin takes the relay's: the checks below
	// read those (learn), in a copy of the caller's list.
	r.d.Guards = slices.Clone(d.Guards)
	for i := range r.d.Guards {
		r.learn(ctx, &r.d.Guards[i])
		g := r.d.Guards[i]
		r.origins(ctx, g)
		r.order(g)
		r.listenAddress(g)
		r.key(ctx, g)
	}
	if d.SiteURL != "" {
		r.siteURL()
	}
	if d.SiteEnv != nil {
		r.apiURL(ctx)
	}
	if d.StorageDir != "" {
		r.storage()
	}
	for _, rd := range d.Redis {
		r.redis(ctx, rd)
	}
	return r.out
}

// run collects the findings of one Check.
type run struct {
	d   Deployment
	out []Finding
}

func (r *run) ok(check, subject, detail string) {
	r.out = append(r.out, Finding{Check: check, OK: true, Subject: subject, Detail: detail})
}

func (r *run) finding(check, subject, detail, fix string) {
	r.out = append(r.out, Finding{Check: check, Subject: subject, Detail: detail, Fix: fix})
}

// do makes a request with headers and returns the response, its body
// closed: the checks read only the status and headers.
func (r *run) do(ctx context.Context, method, u string, h map[string]string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "caddy-outstatic doctor")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := r.d.Client.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return res, nil
}

func serviceOf(g Guard) string {
	if g.Service == "" {
		return protocol.DefaultService
	}
	return strings.TrimRight(g.Service, "/")
}

// ParseEnv reads a .env file's KEY=VALUE lines, as Next.js does for the
// simple cases: comments, blank lines, "export ", and one pair of quotes.
func ParseEnv(text string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env
}
