// Package login is where the native relay's logins begin and end. A
// login provider (provider.go) says who the user is; the registry
// (registry.go) lists every provider by the protocol's login slot it
// answers: GitHub (github.go) or the development login (dev.go) on
// GitHub's slot, an OpenID Connect issuer (oidc.go) on Google's, e-mail
// links (email.go) on the magic link's. One generic flow (flow.go) serves
// the slots of the providers that send the browser away and back: the
// keyed call that starts a login, the start route, the callback; every
// login, whatever its provider, ends in its complete(), which admits the
// member, mints the one-time exchange token (exchange.go) and sends the
// browser to the site's callback. The relay's own pages sign in through the same
// providers (pages.go); validate-github-user turns a site's own GitHub
// login into an exchange token (validate.go). Starts are limited per
// client (startlimit.go). It does not import Caddy.
package login

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Config configures the logins.
type Config struct {
	// PublicURL is the relay's public base URL: the start routes and the
	// providers' callbacks live under it.
	PublicURL *url.URL
	// Roster is the projects and their members, whom logins are for.
	Roster *roster.Roster
	// Seal seals login states, exchange tokens and the pages' tickets.
	Seal *seal.Sealer
	// Store keeps exchange tokens, e-mail links and spent markers.
	Store store.Store
	// GitHub is the relay's GitHub client: the GitHub login and
	// validate-github-user.
	GitHub *github.Client
	// OIDC, if set, answers Google's slot (oidc.go).
	OIDC *OIDC
	// Email, if set, answers the magic link's slot (email.go).
	Email *Email
	// DevLogin makes the development login (dev.go) GitHub's slot's
	// provider.
	DevLogin bool
	// Providers are the login providers by slot; default Builtin().
	Providers Registry
	// StartLimit bounds the login starts per client and project.
	StartLimit StartLimit
	// Callbacks holds the public callbacks exchange tokens arrived at;
	// validate-github-user records its own there.
	Callbacks relay.CallbackMemory
	// AppHosts are the host:port the sites name themselves by.
	AppHosts []string
	// Client calls the OpenID Connect issuer.
	Client *http.Client
	// CountLogin counts a login's step (Started, Completed, Refused) for
	// metrics: reason is a refusal's protocol code, "" otherwise; provider
	// is the provider's Name. Nil counts nothing.
	CountLogin func(provider, outcome, reason string)
	// ClientIP names a request's client (behind trusted proxies, the one
	// they name).
	ClientIP func(*http.Request) string
	// RequestID names the request in the entries written while serving it
	// (requestlog). Default: none.
	RequestID requestlog.Source
	Logger    *zap.Logger
	Now       func() time.Time
}

// Outcomes of a login's steps, for Config.CountLogin.
const (
	Started   = "started"
	Completed = "completed"
	Refused   = "refused"
)

// Logins are the native relay's login providers and the routes that serve
// them. They are safe for concurrent use.
type Logins struct {
	cfg    Config
	base   string // PublicURL without a trailing slash
	bySlot map[*Slot]Provider
	starts *ratelimit.Limiter // login starts per project and client (limitKey); nil: no limit
	log    requestlog.Logger
}

// ErrNoLogin refuses a relay that offers no way to log in.
var ErrNoLogin = errors.New("native mode needs a way to log in: a github block with client_id and client_secret, an oidc block, an email block, or dev_login")

// New builds the logins of cfg: one provider for each slot whose
// registered providers the configuration turns on; at least one must be.
func New(cfg Config) (*Logins, error) {
	if cfg.PublicURL == nil || cfg.Roster == nil || cfg.Seal == nil || cfg.Store == nil || cfg.GitHub == nil || cfg.Client == nil {
		return nil, errors.New("login: a public URL, a roster, a sealer, a store, a github client and an http client are required")
	}
	if cfg.Providers == nil {
		cfg.Providers = Builtin()
	}
	if cfg.Callbacks == nil {
		cfg.Callbacks = relay.NoCallbacks{}
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = relay.PeerIP
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	starts, err := cfg.StartLimit.limiter(cfg.Now)
	if err != nil {
		return nil, err
	}
	l := &Logins{cfg: cfg, base: strings.TrimSuffix(cfg.PublicURL.String(), "/"), bySlot: map[*Slot]Provider{},
		starts: starts, log: requestlog.New(cfg.Logger, cfg.RequestID)}
	for _, reg := range cfg.Providers {
		if l.bySlot[reg.Slot] != nil {
			continue
		}
		prov, err := reg.New(Setup{Config: &l.cfg, Callback: l.base + reg.Slot.Callback.Path, l: l})
		if err != nil {
			return nil, err
		}
		if prov != nil {
			l.bySlot[reg.Slot] = prov
		}
	}
	if len(l.bySlot) == 0 {
		return nil, ErrNoLogin
	}
	return l, nil
}

// Route is one route of the logins, for the native relay's route table,
// which opens it by its endpoint's Auth: a keyed route gets the project
// the call's key names. Methods default to the endpoint's one method.
type Route struct {
	Endpoint *protocol.Endpoint
	Methods  []string
	Keyed    func(w http.ResponseWriter, r *http.Request, p *roster.Project)
	Open     http.HandlerFunc
}

// Routes are every slot's routes, answered by its provider (404, or 501
// for a keyed call, when the slot has none), validate-github-user, and
// the routes of providers that have their own.
func (l *Logins) Routes() []Route {
	var out []Route
	for _, slot := range Slots {
		out = append(out,
			Route{Endpoint: slot.Exchange, Keyed: l.serveExchange(slot)},
			Route{Endpoint: slot.Start, Open: l.serveStart(slot)},
			Route{Endpoint: slot.Callback, Open: l.serveCallback(slot)})
	}
	out = append(out, Route{Endpoint: protocol.ValidateGitHubUser, Keyed: l.serveValidateGitHubUser})
	for _, slot := range Slots {
		if r, ok := l.bySlot[slot].(Router); ok {
			out = append(out, r.Routes()...)
		}
	}
	return out
}

// count reports a step of a login with the provider named provider to
// the configured counter.
func (l *Logins) count(provider, outcome, reason string) {
	if l.cfg.CountLogin != nil {
		l.cfg.CountLogin(provider, outcome, reason)
	}
}

// ownClient is the client r counts as by its own address, whatever it
// claims: for requests that are not keyed.
func (l *Logins) ownClient(r *http.Request) string { return relay.ClientKey(l.cfg.ClientIP(r)) }

// limitKey is the key of who in project p, for a limit kept in one table
// for every project: each project's clients and addresses count apart.
func limitKey(p *roster.Project, who string) string { return p.Slug + "\n" + who }
