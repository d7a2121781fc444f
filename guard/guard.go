// Package guard is the guard's logic, without Caddy: it removes client
// copies of the headers it owns and sets the Pro flags, classifies the
// site's auth routes, checks them (public origin, callback queries, who
// starts a login), binds a relay login to the browser that started it,
// starts relay logins at the edge, and fixes the app's redirects. The root
// package's Guard module is its Caddy adapter: it turns the documented
// config into a Config and calls Guard from ServeHTTP.
package guard

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// Config is what a Guard needs, parsed and with its secrets expanded. A
// zero field gets the default its comment names.
type Config struct {
	// Origins are the callback origins written in the guard's config.
	// With APIKey they narrow those the relay's key check answers (the
	// guard accepts only origins both allow), and may be none: then the
	// relay's are the set. Without APIKey at least one is needed.
	Origins []validate.Origin
	// Strict refuses the stock-client callback form.
	Strict bool
	// AppHosts are the app's lowercase host:port, for Location and
	// sign-out. Default: protocol.DefaultAppHosts.
	AppHosts []string
	// BindLogin and BindMagic turn the login binding on for login and
	// google-login, and for magic-link.
	BindLogin, BindMagic bool
	// BindingTTL is a binding's lifetime. Default: 15 minutes.
	BindingTTL time.Duration
	// BindingSecret signs binding cookies. Default: 32 random bytes drawn
	// now, so each instance has its own.
	BindingSecret []byte
	// Headers are the flag headers' names; zero names get the defaults.
	Headers HeaderNames

	// APIKey is the site's key; with it the guard starts relay logins at
	// the edge, may refuse Pro routes, and learns the callback origins
	// from the key's verdict. Empty: none of these.
	APIKey string
	// ServiceURL is the service's base URL, without a trailing slash.
	ServiceURL string
	// Verdicts is the key verdict cache, watching APIKey; nil without a key.
	Verdicts *verdict.Cache
	// KeepAppRoutes are edge-start routes left to the app.
	KeepAppRoutes []string
	// RefusePro refuses Pro-only routes at the edge unless the key is
	// verified Pro (only with APIKey).
	RefusePro bool
	// StartTimeout bounds a call to the service at a login start.
	StartTimeout time.Duration

	// Callbacks records where each exchange token arrived; Bindings
	// records spent login bindings. relay.CallbackMemory and
	// relay.BindingMemory are both.
	Callbacks TokenMemory
	Bindings  BindingMemory

	// Logger gets refusals and start failures. Default: no logging.
	Logger *zap.Logger
	// ClientIP names the client in refusal logs. Default: the peer's
	// address.
	ClientIP func(*http.Request) string
	// RequestID names the request in the entries written while serving it
	// (requestlog). Default: none.
	RequestID requestlog.Source
	// CountRefusal and CountStart feed metrics; nil counts nothing.
	CountRefusal func(reason string)
	CountStart   func(route string, ok bool)
}

// TokenMemory records the public callback each exchange token arrived at,
// for the relay to redeem it with; the relay reads it back. The guard only
// writes: the interface is the guard's half of relay.CallbackMemory, so
// that this package needs neither the relay nor its stores.
type TokenMemory interface {
	// Remember records that token arrived at callbackURL, and returns
	// false when the token was seen before (a replay).
	Remember(token, callbackURL string) bool
}

// BindingMemory records the login bindings spent, so that each serves one
// callback.
type BindingMemory interface {
	// SpendBinding marks id used until expires, and returns false when it
	// was used before.
	SpendBinding(id string, expires time.Time) bool
}

// Guard applies the guard's checks to requests. It is safe for concurrent
// use once made by New.
type Guard struct {
	static    *originSet      // the set without a key: the config's origins
	learned   *learnedOrigins // the set with a key, from each verdict; nil without
	appHosts  []string
	binding   Binding
	bindLogin bool
	bindMagic bool
	log       requestlog.Logger

	apiKey       string
	serviceURL   string
	verdicts     *verdict.Cache
	strip        headerStripper
	headers      HeaderNames
	edgeStart    map[string]bool
	refusePro    bool
	client       *http.Client
	startTimeout time.Duration
	callbacks    TokenMemory
	bindings     BindingMemory
	clientIP     func(*http.Request) string
	countRefusal func(string)
	countStart   func(string, bool)
}

// DefaultBindingTTL is how long a started login stays bound to its browser
// unless configured.
const DefaultBindingTTL = 15 * time.Minute

// New makes a Guard from c, applying its defaults.
func New(c Config) *Guard {
	g := &Guard{
		appHosts:     c.AppHosts,
		bindLogin:    c.BindLogin,
		bindMagic:    c.BindMagic,
		log:          requestlog.New(c.Logger, c.RequestID),
		apiKey:       c.APIKey,
		serviceURL:   c.ServiceURL,
		verdicts:     c.Verdicts,
		headers:      c.Headers.withDefaults().canonical(),
		edgeStart:    map[string]bool{},
		startTimeout: c.StartTimeout,
		callbacks:    c.Callbacks,
		bindings:     c.Bindings,
		clientIP:     c.ClientIP,
		countRefusal: c.CountRefusal,
		countStart:   c.CountStart,
	}
	if len(g.appHosts) == 0 {
		g.appHosts = protocol.DefaultAppHosts
	}
	if g.clientIP == nil {
		g.clientIP = peerIP
	}
	g.static = &originSet{origins: c.Origins, strict: c.Strict, none: noneNoKey}
	if c.APIKey != "" {
		g.learned = &learnedOrigins{local: c.Origins, strict: c.Strict, log: &g.log}
	}
	ttl := c.BindingTTL
	if ttl == 0 {
		ttl = DefaultBindingTTL
	}
	secret := c.BindingSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	g.binding = Binding{secret: secret, ttl: ttl, now: time.Now}
	g.strip = newHeaderStripper(g.headers)
	g.client = &http.Client{
		Timeout:       g.startTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if g.apiKey != "" {
		for _, route := range protocol.StartRoutes {
			g.edgeStart[route] = !slices.Contains(c.KeepAppRoutes, route)
		}
		g.refusePro = c.RefusePro
	}
	return g
}

// SetLogger replaces the logger (tests log through their own).
func (g *Guard) SetLogger(l *zap.Logger) {
	g.log.Log = l // learned logs through g.log too
}

// serviceAnswers is what a SessionEnd asks on an answer that may be the
// service's outage: whether the service answers the site's key now. Nil
// without a key. r is the refresh it is asked for.
func (g *Guard) serviceAnswers(r *http.Request) func(context.Context) bool {
	if g.verdicts == nil || g.apiKey == "" {
		return nil
	}
	return func(ctx context.Context) bool {
		if g.verdicts.Answers(ctx, g.apiKey) {
			return true
		}
		g.log.Warn(r, "a refresh failed while the service does not answer: the session is kept",
			zap.String("service", g.serviceURL),
			zap.String("why", "the site answers a refresh that could not reach the relay as one the relay refused; the refresh token was not spent"))
		return false
	}
}

// origins is the callback origins the guard accepts given v, the key's
// verdict (origins.go).
func (g *Guard) origins(r *http.Request, v verdict.Verdict) *originSet {
	if g.learned == nil {
		return g.static
	}
	return g.learned.setFor(r, v)
}

// Binding returns the login binding the guard mints and checks.
func (g *Guard) Binding() Binding { return g.binding }

// Headers returns the flag headers' names, canonical, defaults applied.
func (g *Guard) Headers() HeaderNames { return g.headers }

// Verdict returns the key's current verdict; the zero Verdict without a key.
func (g *Guard) Verdict(ctx context.Context) verdict.Verdict {
	if g.verdicts == nil {
		return verdict.Verdict{}
	}
	return g.verdicts.Lookup(ctx, g.apiKey)
}

// StripRequest removes every client copy of the flag headers from r. It
// runs first on every request, whatever happens next.
func (g *Guard) StripRequest(r *http.Request) { g.strip.stripRequest(r) }

// SetFlags adds the Pro flags to r for the app when v is Pro.
func (g *Guard) SetFlags(r *http.Request, v verdict.Verdict) {
	if v.Pro() {
		r.Header[g.headers.Pro] = []string{"true"}
		r.Header[g.headers.Features] = []string{ProFeatures}
		r.Header[g.headers.Project] = []string{v.Project.ProjectID}
	}
}

// ResponseFix is what the app's answer to a request needs from the guard.
type ResponseFix struct {
	// Location fixes its redirects; not Matched when the public site
	// matched no callback origin (a Host header alone cannot steer a
	// redirect).
	Location LocationFix
	// Session clears the site's session cookie if the answer is a failed
	// refresh (session.go).
	Session SessionEnd
}

// Check applies the checks of the auth routes to r, given v, the key's
// verdict, and trusted, whether r came through one of the server's trusted
// proxies (so that its X-Forwarded-* headers count). It returns done when
// it has answered r itself (err is then the writer's); otherwise fix is
// what the app's answer needs.
func (g *Guard) Check(w http.ResponseWriter, r *http.Request, v verdict.Verdict, trusted bool) (fix ResponseFix, done bool, err error) {
	scheme, hostport := publicSite(r, trusted)
	set := g.origins(r, v)
	if len(set.origins) == 0 {
		// Nothing says which hosts and base paths are the site's: every
		// path that may reach the site's API is refused, whatever the Host.
		if reachesAuthAPI(r) {
			g.refuse(r, "no callback origins", zap.String("why", set.none))
			return ResponseFix{}, true, protocol.WriteError(w, http.StatusBadRequest, protocol.CodeProjectURLNotConfigured)
		}
		return ResponseFix{}, false, nil
	}
	route, isAuth := set.classify(r, scheme, hostport)
	var site string
	if isAuth {
		if route.origin == nil {
			g.refuse(r, "public origin is not a callback origin", zap.String("scheme", scheme), zap.String("host", hostport))
			return ResponseFix{}, true, protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidCallbackDomain)
		}
		if !route.canonical {
			g.refuse(r, "auth route path is not canonical")
			return ResponseFix{}, true, protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidRequestPath)
		}
		site = route.origin.SiteOrigin()
		if done, err := g.checkAuthRoute(w, r, route, v); done {
			return ResponseFix{}, true, err
		}
		fix.Session = g.sessionEnd(r, route)
	} else if reachesAuthAPI(r) {
		// The site's API under a base path no callback origin has (one
		// the relay has removed, say): its Host cannot be checked.
		g.refuse(r, "auth route under the base path of no callback origin")
		return ResponseFix{}, true, protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidCallbackDomain)
	} else if o := set.matchSite(scheme, hostport); o != nil {
		site = o.SiteOrigin()
	}
	if site != "" {
		fix.Location = LocationFix{appHosts: g.appHosts, publicSite: site}
	}
	return fix, false, nil
}

// refuse counts a refusal by reason and logs it at info, without tokens.
func (g *Guard) refuse(r *http.Request, reason string, fields ...zap.Field) {
	g.refuseAt(zap.InfoLevel, r, reason, fields...)
}

// refuseAt is refuse at another level: warn for a refusal that is most
// likely the deployment's error, which the operator must see.
func (g *Guard) refuseAt(level zapcore.Level, r *http.Request, reason string, fields ...zap.Field) {
	if g.countRefusal != nil {
		g.countRefusal(reason)
	}
	if ce := g.log.Log.Check(level, "refused"); ce != nil {
		fields = append(fields,
			zap.String("reason", reason),
			zap.String("method", r.Method),
			// the path only: queries carry exchange tokens
			zap.String("path", r.URL.Path),
			zap.String("remote_ip", g.clientIP(r)),
			g.log.ID.Field(r),
		)
		ce.Write(fields...)
	}
}

// peerIP is the peer's address without its port.
func peerIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
