package outstatic

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/forward"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Relay{})
}

// Relay stands where a self-hosted Outstatic site's OUTSTATIC_API_URL
// points. The browser calls it too (the dashboard's GraphQL goes to
// <OUTSTATIC_API_URL>/github/parser), so it must be served on a public URL:
// a host of its own, or a path of the site's host with handle_path, so
// that the relay sees paths such as /outstatic/project.
//
// In forward mode (with an upstream) it passes every call of the protocol
// on to the real service, after local checks: only the configured keys
// pass; every callback field is checked against the callback origins, and
// the site's own listen address in it is replaced by the public origin
// before anything leaves; an exchange token is redeemed with the public
// callback a guard saw it arrive at; the key check is answered from the
// verdict cache (shared with a guard in the same Caddy), so the site keeps
// its Pro state through an outage of the service.
type Relay struct {
	// Upstream is the real service's base URL, e.g.
	// https://outstatic.com/api. Set, the relay is in forward mode; unset,
	// in native mode.
	Upstream string `json:"upstream,omitempty"`

	// APIKeys are the keys of the sites this relay serves, each as an
	// {env.*} or {file.*} placeholder. A call bearing any other key is
	// answered 401 here, so a public relay is no open proxy to the service.
	APIKeys []string `json:"api_keys,omitempty"`

	// CallbackOrigins are the sites' callback origins (see the guard). The
	// first is the primary one: its site replaces the app's listen address
	// in the callbacks a site sends.
	CallbackOrigins []string `json:"callback_origins,omitempty"`

	// StrictCallbacks refuses the stock-client callback form. Default:
	// false.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`

	// AppOrigins are the origins the sites name themselves by. Default:
	// ["http://localhost:3000"].
	AppOrigins []string `json:"app_origins,omitempty"`

	// ResponseTimeout bounds the wait for the service's response headers,
	// and then, for a call whose body the relay checks (the logins'
	// starts, exchange-token, validate-github-user), the wait for the rest
	// of the reply.
	// Default: 30s (forward.DefaultResponseHeaderTimeout).
	ResponseTimeout caddy.Duration `json:"response_timeout,omitempty"`

	KeyCheck

	// PublicURL is the relay's own public URL, the sites'
	// OUTSTATIC_API_URL. Native mode only: the login start route and the
	// GitHub OAuth app's callback live under it.
	PublicURL string `json:"public_url,omitempty"`

	// Projects served in native mode (no upstream). More can be made
	// while the relay runs (`caddy outstatic project create`, the admin
	// API, the Projects page), kept in its store; a project here wins
	// over a stored one of the same slug and is read-only at run time.
	Projects []RelayProject `json:"projects,omitempty"`

	// Operators may make and delete projects on the relay's Projects page
	// (<public_url>/home/projects): GitHub logins or e-mail addresses,
	// named by the rule members are. Native mode. Default: nobody (the
	// admin API and `caddy outstatic project` still can).
	Operators []string `json:"operators,omitempty"`

	// AuditRetention is how long the native relay keeps its audit log's
	// records (sign-ins, key, member, origin and project changes) in its
	// store; each project keeps at most 10000. Every event is also logged
	// on the logger outstatic.audit. Default: 90d.
	AuditRetention caddy.Duration `json:"audit_retention,omitempty"`

	// GitHub is the relay's own GitHub OAuth app, in native mode.
	GitHub *RelayGitHub `json:"github,omitempty"`

	// OIDC is an OpenID Connect login (Google or any issuer) that answers
	// google-exchange. Default: none (google-exchange answers 501).
	OIDC *RelayOIDC `json:"oidc,omitempty"`

	// Email is e-mail (magic link) logins, which answer
	// request-magic-link. Default: none (it answers 501).
	Email *RelayEmail `json:"email,omitempty"`

	// GitHubApp gives repository access to sessions that have no GitHub
	// token (logins by Google or e-mail), as an installation of this
	// GitHub App, in native mode. Default: none.
	GitHubApp *RelayGitHubApp `json:"github_app,omitempty"`

	// Secret seals login states, sessions and exchange token payloads, as
	// an {env.*} or {file.*} placeholder of at least 32 characters; the
	// same on every instance. Default: drawn once and kept in the store.
	Secret string `json:"secret,omitempty"`

	// Redis keeps the native relay's state in Redis, for several
	// instances. Default: Caddy's configured storage.
	Redis *RelayRedis `json:"redis,omitempty"`

	// SessionTTL is the access token's lifetime. Default: 1h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`

	// RefreshTTL is how long a login's session lasts, however often it
	// is refreshed: its refresh tokens end this long after the login.
	// Default: 720h.
	RefreshTTL caddy.Duration `json:"refresh_ttl,omitempty"`

	// DevLogin replaces the GitHub login with a development login: a page
	// of the relay that logs the browser in as whichever configured member
	// it picks, with no password. For the demo and local development only:
	// the relay refuses to start unless public_url and every listener of
	// the config are loopback addresses, and warns at every start. Native
	// mode; makes the github block optional. Default: false.
	DevLogin bool `json:"dev_login,omitempty"`
	// KeyRecheck is how long the native relay answers a key check from
	// memory before it reads whether any key changed (one store read per
	// instance per KeyRecheck): a key rotated or revoked on another
	// instance is refused here within this time; on the instance that
	// changed it, at once. Default: 1s.
	KeyRecheck caddy.Duration `json:"key_recheck,omitempty"`
	// StartLimit bounds the login starts per project and client IP in
	// native mode.
	// Default: a burst of 30, then one every 2s.
	StartLimit *RelayStartLimit `json:"start_limit,omitempty"`

	// TokenStore shares the callbacks exchange tokens arrived at with
	// guards in other Caddy instances. Default: this Caddy's memory.
	TokenStore *SharedStore `json:"token_store,omitempty"`

	// AI answers the dashboard's AI completions in native mode, for every
	// Pro project without an ai block of its own. Default: none (generate
	// answers 501).
	AI *RelayAI `json:"ai,omitempty"`

	handler   http.Handler
	metrics   *pluginMetrics
	callbacks relay.CallbackMemory
	native    *native.Native
	closers   []func() error
	poolKey   string
	unwatch   func() // lets go of the keys watched in the pooled cache
	logger    *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Relay) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.outstatic_relay",
		New: func() caddy.Module { return new(Relay) },
	}
}

// Provision sets up the relay in forward mode (with an upstream) or in
// native mode.
func (rl *Relay) Provision(ctx caddy.Context) error {
	rl.logger = ctx.Logger()
	warnSharedListeners(ctx, rl.logger)
	repl := caddy.NewReplacer()
	m, err := loadMetrics(ctx)
	if err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	rl.metrics = m
	appHosts, err := appHostsOf(rl.AppOrigins)
	if err != nil {
		return err
	}
	var closer func() error
	rl.callbacks, closer, err = callbackMemory(ctx, rl.TokenStore, rl.logger)
	if err != nil {
		return err
	}
	rl.closers = append(rl.closers, closer)
	if rl.Upstream == "" {
		return rl.provisionNative(ctx, parseTargets, appHosts)
	}

	var keys []string
	for _, raw := range rl.APIKeys {
		k, err := expandSecret(repl, "api_key", raw)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	targets, err := parseTargets(rl.CallbackOrigins, rl.StrictCallbacks)
	if err != nil {
		return err
	}

	if err := checkServiceURL(rl.Upstream); err != nil {
		return fmt.Errorf("upstream: %v", err)
	}
	upstream, _ := url.Parse(rl.Upstream)
	cache, poolKey, err := loadVerdicts(trimSlash(rl.Upstream), rl.KeyCheck.settings(), rl.logger)
	if err != nil {
		return fmt.Errorf("loading the key verdict cache: %v", err)
	}
	rl.poolKey = poolKey
	for _, k := range keys {
		cache.Watch(k)
	}
	rl.unwatch = func() {
		for _, k := range keys {
			cache.Unwatch(k)
		}
	}
	fwd, err := forward.NewForwarder(forward.ForwardConfig{
		Upstream:              upstream,
		Keys:                  keys,
		Targets:               targets,
		AppHosts:              appHosts,
		Verdicts:              cache,
		Callbacks:             rl.callbacks,
		ResponseHeaderTimeout: time.Duration(rl.ResponseTimeout), // forward applies the default
		Logger:                rl.logger,
		ClientIP:              clientIP,
		RequestID:             requestID,
	})
	if err != nil {
		return fmt.Errorf("setting up the forwarder: %v", err)
	}
	rl.handler = fwd
	return nil
}

// Validate checks the configuration.
func (rl *Relay) Validate() error {
	if rl.Upstream == "" {
		return rl.validateNative()
	}
	return rl.checkForward()
}

// checkForward is the one check of what forward mode needs, for Validate
// and the Caddyfile parser.
func (rl *Relay) checkForward() error {
	switch {
	case len(rl.Projects) > 0 || rl.GitHub != nil || rl.PublicURL != "" || rl.OIDC != nil || rl.Email != nil:
		return errors.New("projects, github, oidc, email and public_url belong to native mode, which has no upstream")
	case len(rl.Operators) > 0 || rl.AuditRetention != 0:
		return errors.New("operators and audit_retention belong to native mode, which has no upstream")
	case rl.DevLogin:
		return errors.New("dev_login belongs to native mode: forward mode's logins are the service's")
	case rl.GitHubApp != nil:
		return errors.New("github_app belongs to native mode, which has no upstream")
	case rl.AI != nil:
		return errors.New("ai belongs to native mode: forward mode passes generate on to the service")
	case len(rl.APIKeys) == 0:
		return errors.New("outstatic_relay needs at least one api_key, e.g. api_key {env.OUTSTATIC_API_KEY}: it accepts only the keys it serves")
	case len(rl.CallbackOrigins) == 0:
		return errors.New("outstatic_relay needs at least one callback_origin")
	}
	return nil
}

// validateNative is the one check of a native-mode configuration, for
// Validate and the Caddyfile parser.
func (rl *Relay) validateNative() error {
	// Native mode may start with no project: the operator makes them at
	// run time.
	if len(rl.Projects) == 0 && rl.PublicURL == "" {
		return errors.New("outstatic_relay needs an upstream (forward mode) or project blocks (native mode), or public_url alone to serve projects made at run time")
	}
	if _, err := roster.KeyOperators(rl.Operators); err != nil {
		return err
	}
	if rl.AuditRetention < 0 {
		return errors.New("audit_retention must not be negative")
	}
	if _, err := rl.publicURL(); err != nil {
		return err
	}
	if err := rl.checkDevLoginURL(); err != nil {
		return err
	}
	if err := native.CheckLogins(rl.GitHub.literal(), rl.DevLogin, rl.OIDC != nil, rl.Email != nil, rl.GitHubApp != nil); err != nil {
		return err
	}
	if err := rl.StartLimit.check(); err != nil {
		return err
	}
	if rl.OIDC != nil {
		if err := rl.OIDC.check(); err != nil {
			return err
		}
	}
	if rl.Email != nil {
		if err := rl.Email.check(); err != nil {
			return err
		}
	}
	if rl.GitHubApp != nil {
		if err := rl.GitHubApp.check(); err != nil {
			return err
		}
	}
	switch {
	case len(rl.APIKeys) > 0 || len(rl.CallbackOrigins) > 0:
		return fmt.Errorf("in native mode, keys and callback origins belong in each project block")
	}
	for _, p := range rl.Projects {
		if err := p.check(); err != nil {
			return err
		}
	}
	if rl.AI != nil {
		if err := rl.AI.check(); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup lets go of the watched keys and releases the shared verdict
// cache, or the native relay's store.
func (rl *Relay) Cleanup() error {
	if rl.native != nil {
		unregisterNative(rl.native)
	}
	for _, c := range rl.closers {
		_ = c()
	}
	if rl.unwatch != nil {
		rl.unwatch()
		rl.unwatch = nil
	}
	if rl.poolKey != "" {
		_, err := verdictCaches.Delete(rl.poolKey)
		return err
	}
	return nil
}

// ServeHTTP answers every call itself: the relay is a terminal handler.
func (rl *Relay) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	// Without a buffer decision, the recorder streams through (AI
	// completions must) and only notes the status.
	rec := caddyhttp.NewResponseRecorder(w, nil, nil)
	rl.handler.ServeHTTP(rec, r)
	rl.metrics.relayCalls.WithLabelValues(protocol.Label(r.URL.Path), statusClass(rec.Status())).Inc()
	if protocol.Lookup(r.URL.Path) == protocol.ExchangeToken {
		rl.metrics.redemptions.WithLabelValues(redemptionResult(rec.Status())).Inc()
	}
	return nil
}

// requestID is the id Caddy gives r ({http.request.uuid}), for log
// entries; "" outside Caddy.
func requestID(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}

// parseTargets parses callback origins into targets.
func parseTargets(origins []string, strict bool) (validate.Targets, error) {
	t := validate.Targets{Strict: strict}
	for _, raw := range origins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			return t, err
		}
		t.Origins = append(t.Origins, o)
	}
	return t, nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Relay)(nil)
	_ caddy.Validator             = (*Relay)(nil)
	_ caddy.CleanerUpper          = (*Relay)(nil)
	_ caddyhttp.MiddlewareHandler = (*Relay)(nil)
)
