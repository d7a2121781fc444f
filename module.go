// Package outstatic is a Caddy plugin for self-hosted Outstatic sites: the
// guard (directive outstatic) that stands in front of the site, and the relay
// (directive outstatic_relay) that stands where OUTSTATIC_API_URL points.
package outstatic

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
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
	// fragment, e.g. "https://blog.example.com/outstatic". At least one is
	// required. Auth routes on any other scheme or host are refused.
	CallbackOrigins []string `json:"callback_origins,omitempty"`

	// StrictCallbacks refuses callback targets in the stock-client form
	// (<site root>/api/outstatic/callback) and accepts only the documented
	// form (<origin>/api/outstatic/callback). Default: false, because the
	// stock site sends the stock-client form.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`

	// AppOrigins are the origins the app names itself by: absolute
	// redirects to one of them are rewritten to the public origin the
	// browser used. Only the host and port are compared. Default:
	// ["http://localhost:3000"], what a stock `next start` uses.
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
	Headers *HeaderNames `json:"headers,omitempty"`

	// KeepAppRoutes lists relay-start routes the app keeps answering even
	// with api_key set: "login" for a site with its own GitHub OAuth app
	// (OST_GITHUB_ID), "google-login", "magic-link".
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

	routes    routeTable
	targets   validate.Targets
	appHosts  []string
	binding   loginBinding
	bindLogin bool
	bindMagic bool
	logger    *zap.Logger

	apiKey       string
	serviceURL   string
	verdicts     *verdict.Cache
	poolKey      string
	strip        headerStripper
	headers      HeaderNames
	edgeStart    map[string]bool
	refusePro    bool
	client       *http.Client
	startTimeout time.Duration
	callbacks    relay.CallbackMemory
	bindings     relay.BindingMemory
	closeStore   func() error
	metrics      *pluginMetrics
}

// CaddyModule returns the Caddy module information.
func (Guard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.outstatic",
		New: func() caddy.Module { return new(Guard) },
	}
}

// Provision parses the origins and sets up the login binding.
func (g *Guard) Provision(ctx caddy.Context) error {
	g.logger = ctx.Logger()
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
	g.routes = routeTable{origins: origins}
	g.targets = validate.Targets{Origins: origins, Strict: g.StrictCallbacks}

	appHosts, err := appHostsOf(g.AppOrigins)
	if err != nil {
		return err
	}
	g.appHosts = appHosts

	g.bindLogin = g.BindLogin == nil || *g.BindLogin
	g.bindMagic = g.BindMagicLink == nil || *g.BindMagicLink
	ttl := time.Duration(g.BindingTTL)
	if ttl == 0 {
		ttl = 15 * time.Minute
	}
	secret := []byte(repl.ReplaceKnown(g.BindingSecret, ""))
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	g.binding = loginBinding{secret: secret, ttl: ttl, now: time.Now}

	g.headers = HeaderNames{}
	if g.Headers != nil {
		g.headers = *g.Headers
	}
	g.headers = g.headers.withDefaults().canonical()
	g.strip = newHeaderStripper(g.headers)

	g.serviceURL = trimSlash(g.Service)
	if g.serviceURL == "" {
		g.serviceURL = defaultService
	}
	if err := checkServiceURL(g.serviceURL); err != nil {
		return err
	}
	g.apiKey = repl.ReplaceKnown(g.APIKey, "")
	if g.APIKey != "" && g.apiKey == "" {
		return fmt.Errorf("api_key %s expanded to nothing: is the variable or file set?", g.APIKey)
	}
	g.startTimeout = durationOr(g.CheckTimeout, 5*time.Second) * 2
	g.client = &http.Client{
		Timeout:       g.startTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	g.callbacks, g.bindings, g.closeStore = guardMemory(ctx, g.TokenStore, g.logger)
	g.edgeStart = map[string]bool{}
	g.refusePro = false
	if g.apiKey != "" {
		for _, route := range []string{"login", "google-login", "magic-link"} {
			g.edgeStart[route] = !slices.Contains(g.KeepAppRoutes, route)
		}
		g.refusePro = g.RefuseProRoutes == nil || *g.RefuseProRoutes
		cache, poolKey, err := loadVerdicts(g.serviceURL, g.KeyCheck.settings(), g.logger)
		if err != nil {
			return fmt.Errorf("loading the key verdict cache: %v", err)
		}
		g.verdicts, g.poolKey = cache, poolKey
		g.verdicts.Watch(g.apiKey)
	}
	return nil
}

// defaultService is the hosted Outstatic service.
const defaultService = "https://outstatic.com/api"

func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}

// checkServiceURL accepts an absolute http(s) URL with no query.
func checkServiceURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("service %q: want an http or https base URL such as https://outstatic.com/api", raw)
	}
	return nil
}

// Cleanup releases the shared verdict cache and the token store.
func (g *Guard) Cleanup() error {
	if g.closeStore != nil {
		_ = g.closeStore()
	}
	if g.poolKey != "" {
		_, err := verdictCaches.Delete(g.poolKey)
		return err
	}
	return nil
}

// Validate checks the configuration.
func (g *Guard) Validate() error {
	if len(g.CallbackOrigins) == 0 {
		return fmt.Errorf("at least one callback origin is required")
	}
	if g.BindingTTL < 0 {
		return fmt.Errorf("binding_ttl must not be negative")
	}
	for _, route := range g.KeepAppRoutes {
		if route != "login" && route != "google-login" && route != "magic-link" {
			return fmt.Errorf("keep_app_routes: %q is not login, google-login or magic-link", route)
		}
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

// ServeHTTP checks auth routes and passes everything on.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Client copies of the flags go first, whatever happens next.
	g.strip.stripRequest(r)
	var v verdict.Verdict
	if g.verdicts != nil {
		v = g.verdicts.Lookup(r.Context(), g.apiKey)
	}
	g.setFlags(r, v)

	scheme, hostport := publicSite(r)
	route, isAuth := g.routes.classify(r, scheme, hostport)
	var site string
	if isAuth {
		if route.origin == nil {
			g.refuse(r, "public origin is not a callback origin", zap.String("scheme", scheme), zap.String("host", hostport))
			return writeJSONError(w, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)
		}
		if !route.canonical {
			g.refuse(r, "auth route path is not canonical")
			return writeJSONError(w, http.StatusBadRequest, "invalid-request-path")
		}
		site = route.origin.SiteOrigin()
		if done, err := g.checkAuthRoute(w, r, route, v); done {
			return err
		}
	} else if o := g.matchSite(scheme, hostport); o != nil {
		site = o.SiteOrigin()
	}
	if site != "" {
		// Only a public origin that matched a callback origin is ever
		// written into a redirect: a Host header alone cannot steer one.
		w = &locationRewriter{
			ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
			appHosts:              g.appHosts,
			publicSite:            site,
		}
	}
	return next.ServeHTTP(w, r)
}

// setFlags adds the Pro flags for the app and the placeholders for other
// handlers: {http.outstatic.pro} and {http.outstatic.project}.
func (g *Guard) setFlags(r *http.Request, v verdict.Verdict) {
	pro := v.Pro()
	if pro {
		r.Header[g.headers.Pro] = []string{"true"}
		r.Header[g.headers.Features] = []string{proFeatures}
		r.Header[g.headers.Project] = []string{v.Project.ProjectID}
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.outstatic.pro", pro)
		project := ""
		if v.State == verdict.Valid {
			project = v.Project.ProjectID
		}
		repl.Set("http.outstatic.project", project)
	}
}

func (g *Guard) matchSite(scheme, hostport string) *validate.Origin {
	for i := range g.routes.origins {
		if g.routes.origins[i].MatchesSite(scheme, hostport) {
			return &g.routes.origins[i]
		}
	}
	return nil
}

func (g *Guard) refuse(r *http.Request, reason string, fields ...zap.Field) {
	if g.metrics != nil {
		g.metrics.refusals.WithLabelValues(reason).Inc()
	}
	if ce := g.logger.Check(zap.InfoLevel, "refused"); ce != nil {
		fields = append(fields,
			zap.String("reason", reason),
			zap.String("method", r.Method),
			// the path only: queries carry exchange tokens
			zap.String("path", r.URL.Path),
			zap.String("remote_ip", clientIP(r)),
		)
		ce.Write(fields...)
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

// writeJSONError answers with the protocol's error body. The stock client
// parses the body, so these refusals are written here rather than returned
// as caddyhttp errors, whose body handle_errors would decide.
func writeJSONError(w http.ResponseWriter, status int, code string) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Guard)(nil)
	_ caddy.Validator             = (*Guard)(nil)
	_ caddy.CleanerUpper          = (*Guard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Guard)(nil)
)
