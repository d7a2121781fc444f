package outstatic

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
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
	// https://outstatic.com/api.
	Upstream string `json:"upstream,omitempty"`

	// APIKeys are the keys of the sites this relay serves, each as an
	// {env.*} or {file.*} placeholder. A call bearing any other key is
	// answered 401 here, so a public relay is no open proxy to the service.
	APIKeys []string `json:"api_keys,omitempty"`

	// CallbackOrigins are the sites' callback origins (see the guard). The
	// first is the primary one: its site replaces the app's listen address
	// in the callbacks a site sends.
	CallbackOrigins []string `json:"callback_origins,omitempty"`

	// StrictCallbacks refuses the stock-client callback form.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`

	// AppOrigins are the origins the sites name themselves by. Default:
	// ["http://localhost:3000"].
	AppOrigins []string `json:"app_origins,omitempty"`

	// ResponseTimeout bounds the wait for the service's response headers.
	// Default: 30s.
	ResponseTimeout caddy.Duration `json:"response_timeout,omitempty"`

	KeyCheck

	handler http.Handler
	poolKey string
	logger  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Relay) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.outstatic_relay",
		New: func() caddy.Module { return new(Relay) },
	}
}

// Provision expands the keys and sets up the forwarder.
func (rl *Relay) Provision(ctx caddy.Context) error {
	rl.logger = ctx.Logger()
	repl := caddy.NewReplacer()

	var keys []string
	for _, raw := range rl.APIKeys {
		k := repl.ReplaceKnown(raw, "")
		if k == "" {
			return fmt.Errorf("api_key %s expanded to nothing: is the variable or file set?", raw)
		}
		keys = append(keys, k)
	}
	var targets validate.Targets
	for _, raw := range rl.CallbackOrigins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			return err
		}
		targets.Origins = append(targets.Origins, o)
	}
	targets.Strict = rl.StrictCallbacks
	appOrigins := rl.AppOrigins
	if len(appOrigins) == 0 {
		appOrigins = []string{"http://localhost:3000"}
	}
	var appHosts []string
	for _, raw := range appOrigins {
		h, err := parseAppOrigin(raw)
		if err != nil {
			return err
		}
		appHosts = append(appHosts, h)
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
	fwd, err := relay.NewForwarder(relay.ForwardConfig{
		Upstream:              upstream,
		Keys:                  keys,
		Targets:               targets,
		AppHosts:              appHosts,
		Verdicts:              cache,
		Callbacks:             tokenCallbacks,
		ResponseHeaderTimeout: durationOr(rl.ResponseTimeout, 30*time.Second),
		Logger:                rl.logger,
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
		return fmt.Errorf("upstream is required: the relay forwards to the Outstatic service")
	}
	if len(rl.APIKeys) == 0 {
		return fmt.Errorf("at least one api_key is required: the relay accepts only the keys it serves")
	}
	if len(rl.CallbackOrigins) == 0 {
		return fmt.Errorf("at least one callback_origin is required")
	}
	return nil
}

// Cleanup releases the shared verdict cache.
func (rl *Relay) Cleanup() error {
	if rl.poolKey != "" {
		_, err := verdictCaches.Delete(rl.poolKey)
		return err
	}
	return nil
}

// ServeHTTP answers every call itself: the relay is a terminal handler.
func (rl *Relay) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	rl.handler.ServeHTTP(w, r)
	return nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Relay)(nil)
	_ caddy.Validator             = (*Relay)(nil)
	_ caddy.CleanerUpper          = (*Relay)(nil)
	_ caddyhttp.MiddlewareHandler = (*Relay)(nil)
)
