// Package native is the relay in native mode: it answers the protocol
// itself for the projects of its configuration. Keys (keys.go; the key
// check from memory: keymemory.go), sealing
// (seal.go), sessions and their families (session.go, family.go), the
// login flow (login.go) over login providers (provider.go, one file each:
// provider_github.go, provider_oidc.go, provider_email.go with its page in
// email_page.go), and the GitHub repository access with the member's
// token or the relay's GitHub App's (repoaccess.go): the parser and its
// GraphQL policy (parser.go, gql*.go; roles in gqlroles.go), media
// (media.go), the token's renewal (github_token.go), and
// validate-github-user (validate.go); AI completions (generate.go) and the
// content scan with the relay's own repository token (scan.go). Members
// kept in the store and invitations: members.go, invitations.go; members
// are keyed by package identity's rule (identity.go), projects' store
// records by their slug (slug.go). It does not import Caddy.
package native

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Project is a project the native relay serves: the roster's record of
// it, and the AI that answers its completions.
type Project struct {
	roster.Project
	// AI answers the project's completions (generate.go); nil: the
	// relay has none for it.
	AI *AI
}

// NativeConfig configures the native relay.
type NativeConfig struct {
	// PublicURL is the relay's public base URL: the site's
	// OUTSTATIC_API_URL. The login start and GitHub's redirect live under it.
	PublicURL *url.URL
	Projects  []Project
	// GitHub is the relay's own GitHub OAuth app, and where GitHub is.
	GitHub github.OAuthApp
	// Store keeps key records, exchange tokens, spent markers and
	// renewed GitHub tokens (sealed).
	Store store.Store
	// Secret seals states, sessions and token payloads (32 bytes or more).
	Secret []byte
	// Callbacks holds the public callbacks exchange tokens arrived at, as
	// a guard in the same process recorded them.
	Callbacks relay.CallbackMemory
	// AppHosts are the host:port the sites name themselves by.
	AppHosts []string
	// SessionTTL is the access token's lifetime (default 1h); RefreshTTL
	// a login's (default 30 days): its refresh tokens, however often
	// refreshed, end that long after the login.
	SessionTTL, RefreshTTL time.Duration
	// OIDC, if set, answers google-exchange (provider_oidc.go).
	OIDC *OIDCIssuer
	// Email, if set, answers request-magic-link (provider_email.go).
	Email *EmailLogin
	// DevLogin makes the development login (provider_dev.go) the login
	// provider, and the GitHub app optional. The Caddy glue allows it on
	// loopback listeners only.
	DevLogin bool
	// CountLogin counts a login's step for metrics: outcome is one of
	// LoginStarted, LoginCompleted, LoginRefused; reason is the refusal's
	// protocol code (a constant), "" otherwise; provider is the login
	// provider's Name. Nil counts nothing.
	CountLogin func(provider, outcome, reason string)
	// RepoApp, if set, is the GitHub App whose installation token gives
	// repository access to sessions without a GitHub token of their own
	// (Google and e-mail logins). Default: none; such sessions are refused
	// no-repository-access.
	RepoApp *github.App
	// Mailer sends invitations; default: none (the link is handed back
	// to whoever invited, to pass on).
	Mailer roster.Mailer
	// KeyRecheck is how long a key confirmed active is trusted without
	// reading whether any key changed (default roster.DefaultKeyRecheck):
	// a key rotated or revoked on another instance is refused here within
	// that time.
	KeyRecheck time.Duration
	// Client calls GitHub; default: one with a 10s timeout.
	Client *http.Client
	Logger *zap.Logger
	Now    func() time.Time

	// RepoToken returns a token that reads the project's repository with
	// no user session (the scan, scan.go): the relay's GitHub App
	// installation token. Nil: the scan answers 501.
	RepoToken func(ctx context.Context, p *roster.Project) (string, error)

	// StartLimit bounds the login starts per client and project
	// (startlimit.go).
	StartLimit StartLimit
	// ClientIP names a request's client (behind trusted proxies, the one
	// they name); default: the peer address. A keyed call may name the
	// browser it is made for instead (client.go).
	ClientIP func(*http.Request) string
}

// Native is the relay in native mode: it answers the protocol itself for
// the projects of its configuration. It is safe for concurrent use.
type Native struct {
	cfg    NativeConfig
	base   string         // PublicURL without a trailing slash
	roster *roster.Roster // the projects, their keys, members and origins
	ai     map[string]*AI // by project slug
	seal   *seal.Sealer
	login  Provider       // the GitHub login provider, or the development login (OIDC and e-mail have their own fields)
	gh     *github.Client // every call to GitHub
	oidc   *oidcLogin     // nil without an OIDC issuer
	email  *emailLogin    // nil without e-mail logins
	log    *zap.Logger

	bodies   sync.Map                       // *roster.Project → its key check answer
	renewals singleflight.Group             // GitHub token renewals, by session family
	apps     map[string]*github.TokenSource // by project slug, with RepoApp
	pages    atomic.Pointer[http.Handler]   // the relay's own pages (SetPages)

	starts *ratelimit.Limiter // login starts per project and client (limitKey); nil: no limit
}

// Lifetimes of what the native relay hands out.
const (
	startTTL    = 10 * time.Minute
	stateTTL    = 10 * time.Minute
	exchangeTTL = 2 * time.Minute
)

// NewNative checks cfg and builds the native relay.
func NewNative(cfg NativeConfig) (*Native, error) {
	if cfg.PublicURL == nil || (cfg.PublicURL.Scheme != "https" && cfg.PublicURL.Scheme != "http") || cfg.PublicURL.Host == "" {
		return nil, errors.New("public_url must be the relay's absolute http(s) URL (the site's OUTSTATIC_API_URL)")
	}
	if cfg.Store == nil {
		return nil, errors.New("a store is required")
	}
	if !cfg.DevLogin {
		if err := cfg.GitHub.Check(); err != nil {
			return nil, err
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	appHosts, err := relay.CheckAppHosts(cfg.AppHosts)
	if err != nil {
		return nil, err
	}
	cfg.AppHosts = appHosts
	if cfg.ClientIP == nil {
		cfg.ClientIP = relay.PeerIP
	}
	starts, err := cfg.StartLimit.limiter(cfg.Now)
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(cfg.Secret, cfg.Now)
	if err != nil {
		return nil, err
	}
	n := &Native{cfg: cfg, base: strings.TrimSuffix(cfg.PublicURL.String(), "/"), seal: sealer,
		ai: map[string]*AI{}, log: cfg.Logger, starts: starts}
	projects := make([]*roster.Project, len(cfg.Projects))
	for i := range cfg.Projects {
		projects[i] = &cfg.Projects[i].Project
		n.ai[projects[i].Slug] = cfg.Projects[i].AI
	}
	if n.roster, err = roster.New(roster.Config{Projects: projects, Store: cfg.Store, Mailer: cfg.Mailer,
		KeyRecheck: cfg.KeyRecheck, Logger: cfg.Logger, Now: cfg.Now}); err != nil {
		return nil, err
	}
	n.gh = github.New(cfg.GitHub, n.base+protocol.GitHubCallback.Path, cfg.Client, cfg.Now)
	n.login = githubLogin{n.gh}
	if cfg.OIDC != nil {
		if n.oidc, err = newOIDCLogin(*cfg.OIDC, n.base+protocol.OIDCCallback.Path, cfg.Client, cfg.Now); err != nil {
			return nil, err
		}
	}
	if cfg.Email != nil {
		if n.email, err = newEmailLogin(*cfg.Email, cfg.Now, cfg.Logger); err != nil {
			return nil, err
		}
	}
	if cfg.DevLogin {
		n.login = newDevLogin(n)
		n.log.Warn("dev_login is on: anyone who reaches the relay can log in as any member without a password; never use it on a reachable address")
	}
	if err := n.setUpApps(); err != nil {
		return nil, err
	}
	return n, nil
}

// ServeHTTP routes a call to its endpoint (package protocol's table).
func (n *Native) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// What the request says of its client counts only if its key does
	// (client.go); nothing after this reads the header.
	r = withClientClaim(r)
	switch ep := protocol.Lookup(r.URL.Path); ep {
	case protocol.Project:
		n.only(w, r, ep, n.serveProject)
	case protocol.GitHubExchange:
		n.only(w, r, ep, n.serveGitHubExchange)
	case protocol.GitHubStart:
		n.only(w, r, ep, n.serveStart)
	case protocol.GitHubCallback:
		n.only(w, r, ep, n.serveGitHubCallback)
	case protocol.DevLogin:
		n.serveDevLogin(w, r)
	case protocol.ExchangeToken:
		n.only(w, r, ep, n.serveExchangeToken)
	case protocol.RefreshToken:
		n.only(w, r, ep, n.serveRefresh)
	case protocol.Parser:
		n.serveParser(w, r)
	case protocol.Media:
		n.serveMedia(w, r)
	case protocol.ValidateGitHubUser:
		n.only(w, r, ep, n.serveValidateGitHubUser)
	case protocol.GoogleExchange:
		n.only(w, r, ep, n.serveGoogleExchange)
	case protocol.OIDCStart:
		n.only(w, r, ep, n.serveOIDCStart)
	case protocol.OIDCCallback:
		n.only(w, r, ep, n.serveOIDCCallback)
	case protocol.RequestMagicLink:
		n.only(w, r, ep, n.serveRequestMagicLink)
	case protocol.EmailVerify:
		n.only(w, r, ep, n.serveEmailVerify)
	case protocol.EmailConfirm:
		n.only(w, r, ep, n.serveEmailConfirm)
	case protocol.Generate:
		n.only(w, r, ep, n.serveGenerate)
	case protocol.Scan:
		n.only(w, r, ep, n.serveScan)
	case protocol.Pages:
		n.servePages(w, r)
	default:
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
	}
}

// only calls h for a call with ep's method, and answers 405 otherwise.
func (n *Native) only(w http.ResponseWriter, r *http.Request, ep *protocol.Endpoint, h http.HandlerFunc) {
	if r.Method != ep.Method {
		w.Header().Set("Allow", ep.Method)
		protocol.WriteError(w, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed)
		return
	}
	h(w, r)
}

// authProject checks the key of a keyed call and answers 401 when it fails.
func (n *Native) authProject(w http.ResponseWriter, r *http.Request, message string) *roster.Project {
	key, ok := bearer(r)
	if ok {
		p, err := n.roster.ProjectForKey(r.Context(), key)
		if err == nil {
			trustClientClaim(r)
			return p
		}
		if !errors.Is(err, relay.ErrMalformedKey) {
			n.log.Error("reading key records", zap.Error(err))
			protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
			return nil
		}
	}
	protocol.WriteError(w, http.StatusUnauthorized, message)
	return nil
}

// bearer returns the single Bearer credential of r.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	return relay.BearerToken(vals[0])
}

// serveProject answers the key check.
func (n *Native) serveProject(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, protocol.CodeInvalidAPIKey)
	if p == nil {
		return
	}
	protocol.WriteJSONBytes(w, http.StatusOK, n.projectBody(p))
}

// projectBody is the key check's answer for p, encoded once: it changes
// only with the configuration.
func (n *Native) projectBody(p *roster.Project) []byte {
	if b, ok := n.bodies.Load(p); ok {
		return b.([]byte)
	}
	b, _ := json.Marshal(map[string]any{
		"project_id": p.ID, "project_slug": p.Slug, "account_slug": p.Account,
		"repo_owner": p.RepoOwner, "repo_slug": p.RepoSlug, "monorepo_path": p.MonorepoPath, "is_pro": p.Pro,
	})
	b = append(b, '\n') // as protocol.WriteJSON's encoder ends it
	n.bodies.Store(p, b)
	return b
}

// Roster is the relay's projects, their keys, members, invitations and
// callback origins, for the admin API and the relay's pages.
func (n *Native) Roster() *roster.Roster { return n.roster }

// Projects returns the slugs of the projects the relay serves.
func (n *Native) Projects() []string { return n.roster.Projects() }

// checkCallback checks a callback URL a site sent, named as the site names
// its own origin, against p's callback origins, configured and stored; it
// returns those targets too, for a returnUrl.
func (n *Native) checkCallback(ctx context.Context, p *roster.Project, raw string) (validate.Targets, validate.Target, error) {
	targets := n.roster.Targets(ctx, p)
	t, err := targets.Check(relay.PublicURL(raw, targets, n.cfg.AppHosts))
	return targets, t, err
}
