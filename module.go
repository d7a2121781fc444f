// Package outstatic is a Caddy plugin for self-hosted Outstatic sites: the
// guard (directive outstatic) that stands in front of the site, and the relay
// (directive outstatic_relay) that stands where OUTSTATIC_API_URL points.
package outstatic

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	// the `caddy outstatic ...` commands, registered with this module
	_ "github.com/caddy-outstatic/caddy-outstatic/cli"
	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/internal/suggest"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Guard{})
}

// Guard stands in front of a self-hosted Outstatic site. It checks every
// request to the site's auth routes (/outstatic/api/outstatic/* and
// /api/outstatic/*) before the site sees it: the public origin must be a
// configured callback origin, callback queries must have one of the
// allowed shapes, and a relay login must come back to the browser that
// started it. It serves the documented callback routes by rewriting them to
// the site's own, and fixes the site's redirects that name its listen
// address instead of the public origin. Other requests pass through.
type Guard struct {
	// CallbackOrigins are the base URLs the site is served on, each a full
	// http or https URL whose path ends with /outstatic, with no query or
	// fragment, e.g. "https://blog.example.com/outstatic". Auth routes on
	// any other scheme or host are refused. With api_key and a service
	// that is a native relay they may be left out: the guard then uses the
	// project's callback origins that the relay's key check answers
	// (refreshed with the key's verdict), and refuses every auth route
	// until the first answer. Given with such a relay, they narrow its
	// list: only an origin both allow is accepted. Required otherwise
	// (without api_key, or with outstatic.com, which answers none).
	CallbackOrigins []string `json:"callback_origins,omitempty"`

	// StrictCallbacks refuses callback targets in the stock-client form
	// (<site root>/api/outstatic/callback) and accepts only the documented
	// form (<origin>/api/outstatic/callback). Default: false, because the
	// stock site sends the stock-client form.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`

	// AppOrigins are the origins the app names itself by: absolute
	// redirects to one of them are rewritten to the public origin the
	// browser used. Only the host and port are compared. Default:
	// ["http://localhost:3000"], what a stock `next start` uses (applied by
	// package guard: protocol.DefaultAppHosts).
	AppOrigins []string `json:"app_origins,omitempty"`

	// BindLogin requires that a relay login's exchange_token comes back to
	// the browser that started the login: a signed cookie naming one login
	// is set when the site's own page starts `login` or `google-login`
	// (other starts are refused), and the callback spends it, once.
	// Default: true.
	BindLogin *bool `json:"bind_login,omitempty"`

	// BindMagicLink does the same for e-mail links (`magic-link` starts,
	// checked on magic-link-callback). Turn it off if your users open their
	// e-mail on another device than the one they asked from. Default: true.
	BindMagicLink *bool `json:"bind_magic_link,omitempty"`

	// BindingTTL is how long a started login stays bound to its browser.
	// Default: 15m.
	BindingTTL caddy.Duration `json:"binding_ttl,omitempty"`

	// BindingSecret signs the binding cookie. Give the same value to every
	// Caddy instance behind one load balancer; without it each instance
	// draws its own at start. Use a placeholder such as
	// {env.OUTSTATIC_BINDING_SECRET} or {file./run/secrets/binding}: it is
	// expanded at provision time and never stored in the config.
	BindingSecret string `json:"binding_secret,omitempty"`

	// APIKey is the site's OUTSTATIC_API_KEY, given as a placeholder:
	// {env.OUTSTATIC_API_KEY} or {file./run/secrets/outstatic_key}. It is
	// expanded when the config loads and never stored in the config. With
	// it the guard checks the key with the service, adds the Pro flags to
	// requests, starts relay logins with the public callback, and refuses
	// Pro-only routes when the key is not verified Pro.
	APIKey string `json:"api_key,omitempty"`

	// Service is the base URL of the Outstatic service the key is checked
	// with and relay logins start at: the site's OUTSTATIC_API_URL, or the
	// service a relay forwards to. Default: https://outstatic.com/api.
	Service string `json:"service,omitempty"`

	KeyCheck

	// Headers renames the request headers the guard sets for the app.
	// Default: X-Outstatic-Pro, X-Outstatic-Features, X-Outstatic-Project.
	Headers *guard.HeaderNames `json:"headers,omitempty"`

	// KeepAppRoutes lists relay-start routes the app keeps answering even
	// with api_key set: "login" for a site with its own GitHub OAuth app
	// (OST_GITHUB_ID), "google-login", "magic-link". Default: none.
	KeepAppRoutes []string `json:"keep_app_routes,omitempty"`

	// RefuseProRoutes answers the Pro-only routes (generate, scan,
	// magic-link, google-login) at the edge when the key is not verified
	// Pro, with the error the dashboard understands. Only with api_key.
	// Default: true.
	RefuseProRoutes *bool `json:"refuse_pro_routes,omitempty"`

	// TokenStore shares the callbacks exchange tokens arrive at with
	// relays in other Caddy instances (and replays and spent login
	// bindings with other guards). Its entries expire; the guard sweeps a
	// Caddy storage store of expired ones every 5 minutes. Default: this
	// Caddy's memory, bounded in entries.
	TokenStore *SharedStore `json:"token_store,omitempty"`

	edge       *guard.Guard
	poolKey    string
	unwatch    func() // lets go of the key watched in the pooled cache
	closeStore func() error
	metrics    *pluginMetrics
}

// CaddyModule returns the Caddy module information.
func (Guard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.outstatic",
		New: func() caddy.Module { return new(Guard) },
	}
}

// Provision parses the origins, expands the secrets, and builds the guard.
func (g *Guard) Provision(ctx caddy.Context) error {
	logger := ctx.Logger()
	warnSharedListeners(ctx, logger)
	m, err := loadMetrics(ctx)
	if err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	g.metrics = m
	repl := caddy.NewReplacer()

	var origins []validate.Origin
	for _, raw := range g.CallbackOrigins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			return err
		}
		origins = append(origins, o)
	}
	appHosts, err := appHostsOf(g.AppOrigins)
	if err != nil {
		return err
	}

	serviceURL := trimSlash(g.Service)
	if serviceURL == "" {
		serviceURL = protocol.DefaultService
	}
	if err := checkServiceURL(serviceURL); err != nil {
		return err
	}
	apiKey, err := expandSecret(repl, "api_key", g.APIKey)
	if err != nil {
		return err
	}
	bindingSecret, err := expandSecret(repl, "binding_secret", g.BindingSecret)
	if err != nil {
		return err
	}
	cfg := guard.Config{
		Origins:       origins,
		Strict:        g.StrictCallbacks,
		AppHosts:      appHosts,
		BindLogin:     g.BindLogin == nil || *g.BindLogin,
		BindMagic:     g.BindMagicLink == nil || *g.BindMagicLink,
		BindingTTL:    time.Duration(g.BindingTTL),
		BindingSecret: []byte(bindingSecret),
		APIKey:        apiKey,
		ServiceURL:    serviceURL,
		KeepAppRoutes: g.KeepAppRoutes,
		RefusePro:     g.RefuseProRoutes == nil || *g.RefuseProRoutes,
		StartTimeout:  g.KeyCheck.settings().Timeout * 2,
		Logger:        logger,
		ClientIP:      clientIP,
		RequestID:     requestID,
		CountRefusal: func(reason string) {
			m.refusals.WithLabelValues(reason).Inc()
		},
		CountStart: func(route string, ok bool) {
			outcome := "ok"
			if !ok {
				outcome = "error"
			}
			m.relayStarts.WithLabelValues(route, outcome).Inc()
		},
	}
	if g.Headers != nil {
		cfg.Headers = *g.Headers
	}
	cfg.Callbacks, cfg.Bindings, g.closeStore, err = guardMemory(ctx, g.TokenStore, logger)
	if err != nil {
		return err
	}
	if len(origins) == 0 {
		logger.Info("no callback_origin: the callback origins are the project's, as the relay's key check answers them; auth routes are refused until it does",
			zap.String("service", serviceURL))
	}
	if apiKey != "" {
		cache, poolKey, err := loadVerdicts(serviceURL, g.KeyCheck.settings(), logger)
		if err != nil {
			return fmt.Errorf("loading the key verdict cache: %v", err)
		}
		g.poolKey = poolKey
		cfg.Verdicts = cache
		cache.Watch(apiKey)
		g.unwatch = func() { cache.Unwatch(apiKey) }
	}
	g.edge = guard.New(cfg)
	return nil
}

// checkServiceURL accepts an absolute http(s) URL with no query.
func checkServiceURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("service %q: want an http or https base URL such as https://outstatic.com/api", raw)
	}
	return nil
}

// Cleanup lets go of the watched key, releases the shared verdict cache
// and the token store.
func (g *Guard) Cleanup() error {
	if g.closeStore != nil {
		_ = g.closeStore()
	}
	if g.unwatch != nil {
		g.unwatch()
		g.unwatch = nil
	}
	if g.poolKey != "" {
		_, err := verdictCaches.Delete(g.poolKey)
		return err
	}
	return nil
}

// Validate checks the configuration.
func (g *Guard) Validate() error {
	if err := g.checkOrigins(); err != nil {
		return err
	}
	if g.BindingTTL < 0 {
		return fmt.Errorf("binding_ttl must not be negative")
	}
	for _, route := range g.KeepAppRoutes {
		if err := checkKeepAppRoute(route); err != nil {
			return err
		}
	}
	return nil
}

// checkOrigins is the one rule of where a guard's callback origins come
// from: its own callback_origin, or the key check of a relay that answers
// them, which needs the key and a service other than outstatic.com.
func (g *Guard) checkOrigins() error {
	switch {
	case len(g.CallbackOrigins) > 0:
		return nil
	case g.APIKey == "":
		return errors.New("outstatic needs a callback_origin, e.g. https://blog.example.com/outstatic, " +
			"or an api_key and a service naming a native relay, whose key check answers the project's callback origins")
	case g.Service == "" || strings.EqualFold(trimSlash(g.Service), protocol.DefaultService):
		return errors.New("outstatic without callback_origin learns the callback origins from its service's key check, " +
			"but " + protocol.DefaultService + " answers none: set service to a native relay (outstatic_relay without upstream), or set callback_origin")
	}
	return nil
}

// checkKeepAppRoute is the one check of a keep_app_routes entry: a route
// the guard would start at the edge (protocol.StartRoutes).
func checkKeepAppRoute(route string) error {
	if !protocol.IsStartRoute(route) {
		return fmt.Errorf("keep_app_routes: %q is not login, google-login or magic-link%s", route, suggest.DidYouMean(route, protocol.StartRoutes...))
	}
	return nil
}

// parseAppOrigin reads an app origin into the lowercase host:port that
// identifies it in a Location header.
func parseAppOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("app origin %q: want scheme://host[:port], like http://localhost:3000", raw)
	}
	return strings.ToLower(u.Host), nil
}

// appHostsOf parses app origins into the host:port that identify them;
// none gives none, and the package that uses them applies the default
// (protocol.DefaultAppHosts).
func appHostsOf(origins []string) ([]string, error) {
	var hosts []string
	for _, raw := range origins {
		h, err := parseAppOrigin(raw)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// trimSlash removes the trailing slashes of s.
func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// ServeHTTP runs the guard (package guard) and passes the request on.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Client copies of the flags go first, whatever happens next.
	g.edge.StripRequest(r)
	v := g.edge.Verdict(r.Context())
	g.edge.SetFlags(r, v)
	setPlaceholders(r, v)

	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	fix, done, err := g.edge.Check(w, r, v, trusted)
	if done {
		return err
	}
	if fix.Location.Matched() {
		w = &locationRewriter{
			ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
			fix:                   fix.Location,
		}
	}
	if fix.Session.Watching() {
		return endSessionOnFailedRefresh(w, r, next, fix.Session)
	}
	return next.ServeHTTP(w, r)
}

// endSessionOnFailedRefresh passes a refresh on to the app and, when the
// app answers that it failed, clears the session cookie on that answer
// (guard.SessionEnd). Only an answer that may be one (a 401 with JSON, a
// few bytes) is held back to be read; any other streams through.
func endSessionOnFailedRefresh(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, end guard.SessionEnd) error {
	buf := new(bytes.Buffer)
	rec := caddyhttp.NewResponseRecorder(w, buf, end.Holds)
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if !rec.Buffered() {
		return nil
	}
	end.Apply(r.Context(), rec.Status(), rec.Header(), buf.Bytes())
	return rec.WriteResponse()
}

// setPlaceholders sets {http.outstatic.pro} and {http.outstatic.project}
// for other handlers.
func setPlaceholders(r *http.Request, v verdict.Verdict) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.outstatic.pro", v.Pro())
		project := ""
		if v.State == verdict.Valid {
			project = v.Project.ProjectID
		}
		repl.Set("http.outstatic.project", project)
	}
}

// clientIP is the address Caddy decided the client has (trusted proxies
// considered), else the peer's, without its port.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// locationRewriter applies the guard's fix to the app's redirects once,
// before the header is written; Caddy's wrapper passes flushing and
// hijacking through.
type locationRewriter struct {
	caddyhttp.ResponseWriterWrapper
	fix         guard.LocationFix
	wroteHeader bool
}

// WriteHeader fixes Location before the first final status goes out.
func (lw *locationRewriter) WriteHeader(status int) {
	if lw.wroteHeader {
		lw.ResponseWriterWrapper.WriteHeader(status)
		return
	}
	if status >= 200 {
		lw.wroteHeader = true
	}
	lw.fix.Apply(lw.Header())
	lw.ResponseWriterWrapper.WriteHeader(status)
}

// Write sends the header first, fixed, if the handler did not.
func (lw *locationRewriter) Write(p []byte) (int, error) {
	if !lw.wroteHeader {
		lw.WriteHeader(http.StatusOK)
	}
	return lw.ResponseWriterWrapper.Write(p)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Guard)(nil)
	_ caddy.Validator             = (*Guard)(nil)
	_ caddy.CleanerUpper          = (*Guard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Guard)(nil)
)
