// Package native is the relay in native mode: the service that answers
// the protocol itself for the projects of its configuration. Its route
// table (routes.go) opens every endpoint by the Auth protocol.Endpoint
// names: a key checked against the roster, a session, or nothing.
// Sessions and their families (session.go, family.go, and the renewal of
// a session's GitHub token: github_token.go), the parser (parser.go, over
// package gqlpolicy), media (media.go), the repository access with the
// member's token or the relay's GitHub App's (repoaccess.go), the content
// scan (scan.go) and AI completions (generate.go) are here; the projects,
// keys, members and origins are package roster's, the logins package
// login's, sealing package seal's, and every call to GitHub goes through
// package github. It does not import Caddy.
package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
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
	// OIDC, if set, answers google-exchange (package login).
	OIDC *login.OIDC
	// Email, if set, answers request-magic-link (package login).
	Email *login.Email
	// DevLogin makes the development login GitHub's slot's provider, and
	// the GitHub app optional. The Caddy glue allows it on loopback
	// listeners only.
	DevLogin bool
	// Logins are the login providers by slot; default login.Builtin().
	Logins login.Registry
	// CountLogin counts a login's step for metrics: outcome is one of
	// login.Started, login.Completed, login.Refused; reason is the
	// refusal's protocol code (a constant), "" otherwise; provider is the
	// login provider's Name. Nil counts nothing.
	CountLogin func(provider, outcome, reason string)
	// RepoApp, if set, is the GitHub App whose installation token gives
	// repository access to sessions without a GitHub token of their own
	// (Google and e-mail logins). Default: none; such sessions are refused
	// no-repository-access.
	RepoApp *github.App
	// Mailer sends invitations; default: none (the link is handed back
	// to whoever invited, to pass on).
	Mailer roster.Mailer
	// AI answers the completions of projects made at run time (each
	// configured project names its own in Projects). Default: none.
	AI *AI
	// AuditLogger writes the audit log's events (in Caddy, the logger
	// outstatic.audit). Default: Logger's "audit".
	AuditLogger *zap.Logger
	// AuditRetention is how long the store keeps audit records (default
	// audit.DefaultRetention); AuditMax bounds one project's (default
	// audit.DefaultMaxPerProject).
	AuditRetention time.Duration
	AuditMax       int
	// KeyRecheck is how long a key confirmed active is trusted without
	// reading whether any key changed (default roster.DefaultKeyRecheck):
	// a key rotated or revoked on another instance is refused here within
	// that time.
	KeyRecheck time.Duration
	// Client calls GitHub; default: one with a 10s timeout, on
	// relay.NewServiceTransport.
	Client *http.Client
	Logger *zap.Logger
	Now    func() time.Time

	// RepoToken returns a token that reads the project's repository with
	// no user session (the scan, scan.go): the relay's GitHub App
	// installation token. Nil: the scan answers 501.
	RepoToken func(ctx context.Context, p *roster.Project) (string, error)

	// StartLimit bounds the login starts per client and project.
	StartLimit login.StartLimit
	// ClientIP names a request's client (behind trusted proxies, the one
	// they name); default: the peer address. A keyed call may name the
	// browser it is made for instead (relay.ClaimedClient).
	ClientIP func(*http.Request) string
	// RequestID names the request in the entries written while serving it,
	// the logins' too (requestlog). Default: none.
	RequestID requestlog.Source
}

// Native is the relay in native mode: it answers the protocol itself for
// the projects of its configuration. It is safe for concurrent use.
type Native struct {
	cfg    NativeConfig
	roster *roster.Roster // the projects, their keys, members and origins
	logins *login.Logins  // where logins begin and end
	seal   *seal.Sealer
	gh     *github.Client // every call to GitHub
	ai     map[string]*AI // by project slug
	routes map[*protocol.Endpoint]route
	log    requestlog.Logger

	bodies   sync.Map                     // *roster.Project → its key check answer, *projectReply
	renewals singleflight.Group           // GitHub token renewals, by session family
	appsMu   sync.Mutex                   // guards apps
	apps     map[string]*appSource        // by project slug, with RepoApp (repoaccess.go)
	pages    atomic.Pointer[http.Handler] // the relay's own pages (SetPages)
}

// Lifetimes of sessions, unless configured.
const (
	defaultSessionTTL = time.Hour
	defaultRefreshTTL = 30 * 24 * time.Hour
)

// ParsePublicURL is the one rule of a public URL, for NewNative and the
// Caddy glue alike: the relay's absolute http or https URL, the sites'
// OUTSTATIC_API_URL, with no query, fragment or user.
func ParsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || checkPublicURL(u) != nil {
		return nil, fmt.Errorf("public_url %q: want the relay's absolute http or https URL (the sites' OUTSTATIC_API_URL), with no query, fragment or user", raw)
	}
	return u, nil
}

// CheckLogins is the one check of a native relay's ways to log in: its
// OAuth app gh (both credentials or neither), the development login, an
// OIDC issuer, e-mail links; at least one. Without GitHub's login no
// session carries a GitHub token of its own, so the repository is reached
// only as the GitHub App (repoApp), which such a relay needs, except for
// the development login (which warns when a session meets the lack).
func CheckLogins(gh github.OAuthApp, devLogin, oidc, email, repoApp bool) error {
	if err := gh.Check(); err != nil {
		return err
	}
	switch {
	case !gh.Configured() && !devLogin && !oidc && !email:
		return login.ErrNoLogin
	case !gh.Configured() && !devLogin && !repoApp:
		return errors.New("without GitHub's login (a github block with client_id and client_secret) no session has a GitHub token of its own: add a github_app block, an App installed on the projects' repositories, for their content")
	}
	return nil
}

// checkPublicURL applies ParsePublicURL's rule to a parsed URL.
func checkPublicURL(u *url.URL) error {
	if u == nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("public_url must be the relay's absolute http(s) URL (the site's OUTSTATIC_API_URL), with no query, fragment or user")
	}
	return nil
}

// NewNative checks cfg and builds the native relay.
func NewNative(cfg NativeConfig) (*Native, error) {
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, err
	}
	if err := CheckLogins(cfg.GitHub, cfg.DevLogin, cfg.OIDC != nil, cfg.Email != nil, cfg.RepoApp != nil); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.AuditLogger == nil {
		cfg.AuditLogger = cfg.Logger.Named("audit")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second, Transport: relay.NewServiceTransport()}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = defaultSessionTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = defaultRefreshTTL
	}
	if cfg.Callbacks == nil {
		cfg.Callbacks = relay.NoCallbacks{}
	}
	appHosts, err := relay.CheckAppHosts(cfg.AppHosts)
	if err != nil {
		return nil, err
	}
	cfg.AppHosts = appHosts
	sealer, err := seal.New(cfg.Secret, cfg.Now)
	if err != nil {
		return nil, err
	}
	n := &Native{cfg: cfg, seal: sealer, ai: map[string]*AI{}, log: requestlog.New(cfg.Logger, cfg.RequestID)}
	projects := make([]*roster.Project, len(cfg.Projects))
	for i := range cfg.Projects {
		projects[i] = &cfg.Projects[i].Project
		n.ai[projects[i].Slug] = cfg.Projects[i].AI
	}
	if n.roster, err = roster.New(roster.Config{Projects: projects, Store: cfg.Store, Mailer: cfg.Mailer,
		KeyRecheck: cfg.KeyRecheck, AuditLogger: cfg.AuditLogger, AuditRetention: cfg.AuditRetention, AuditMax: cfg.AuditMax,
		Logger: cfg.Logger, Now: cfg.Now}); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(cfg.PublicURL.String(), "/")
	n.gh = github.New(cfg.GitHub, base+protocol.GitHubCallback.Path, cfg.Client, cfg.Now)
	if n.logins, err = login.New(login.Config{PublicURL: cfg.PublicURL, Roster: n.roster, Seal: sealer, Store: cfg.Store,
		GitHub: n.gh, OIDC: cfg.OIDC, Email: cfg.Email, DevLogin: cfg.DevLogin, Providers: cfg.Logins,
		StartLimit: cfg.StartLimit, Callbacks: cfg.Callbacks, AppHosts: cfg.AppHosts, Client: cfg.Client,
		CountLogin: cfg.CountLogin, ClientIP: cfg.ClientIP, RequestID: cfg.RequestID, Logger: cfg.Logger, Now: cfg.Now}); err != nil {
		return nil, err
	}
	if err := n.setUpApps(); err != nil {
		return nil, err
	}
	n.routes = n.routeTable()
	return n, nil
}

// serveProject answers the key check.
func (n *Native) serveProject(w http.ResponseWriter, r *http.Request, p *roster.Project) {
	protocol.WriteJSONBytes(w, http.StatusOK, n.projectBody(r.Context(), p))
}

// projectBody is the key check's answer for p: the fields the stock client
// reads, and this plugin's extension for guards (callback_origins, every
// origin the relay accepts callbacks for, and plan; the stock client
// ignores both, docs/protocol-extensions.md). It is encoded again only
// when p's callback origins change, which this instance sees within
// roster.OriginsTTL of a change on any instance: a guard that refreshes
// its verdict learns the change within its cache_ttl after that.
func (n *Native) projectBody(ctx context.Context, p *roster.Project) []byte {
	origins := n.roster.Targets(ctx, p).Origins
	if c, ok := n.bodies.Load(p); ok {
		if r := c.(*projectReply); slices.Equal(r.origins, origins) {
			return r.body
		}
	}
	names := make([]string, len(origins))
	for i, o := range origins {
		names[i] = o.String()
	}
	plan := "free"
	if p.Pro {
		plan = "pro"
	}
	b, _ := json.Marshal(map[string]any{
		"project_id": p.ID, "project_slug": p.Slug, "account_slug": p.Account,
		"repo_owner": p.RepoOwner, "repo_slug": p.RepoSlug, "monorepo_path": p.MonorepoPath, "is_pro": p.Pro,
		"callback_origins": names, "plan": plan,
	})
	b = append(b, '\n') // as protocol.WriteJSON's encoder ends it
	n.bodies.Store(p, &projectReply{origins: origins, body: b})
	return b
}

// projectReply is a key check's answer and the callback origins it names.
type projectReply struct {
	origins []validate.Origin
	body    []byte
}

// Roster is the relay's projects, their keys, members, invitations and
// callback origins, for the admin API and the relay's pages.
func (n *Native) Roster() *roster.Roster { return n.roster }

// PublicBase is the relay's public URL, without a trailing slash.
func (n *Native) PublicBase() string { return strings.TrimSuffix(n.cfg.PublicURL.String(), "/") }

// Logins are the relay's login providers, for the relay's pages.
func (n *Native) Logins() *login.Logins { return n.logins }

// CompleteVerifiedLogin ends the login of a person whose e-mail address a
// provider has verified and returns the exchange token for callback
// (login.Logins.CompleteVerified).
func (n *Native) CompleteVerifiedLogin(ctx context.Context, project, callback, email, name string) (string, error) {
	return n.logins.CompleteVerified(ctx, project, callback, email, name)
}

// SetPages serves h at the pages' routes (package relay/pages, which
// needs the relay built first, hence not a NativeConfig field).
func (n *Native) SetPages(h http.Handler) { n.pages.Store(&h) }

// servePages answers the pages' routes, 404 when none are set.
func (n *Native) servePages(w http.ResponseWriter, r *http.Request) {
	if h := n.pages.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
}
