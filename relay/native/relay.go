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
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/ghapp"
	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Roles and the dashboard permissions each grants (PROTOCOL.md §2).
var rolePermissions = map[string][]string{
	"owner":   {"roles.manage", "settings.manage", "members.manage", "invites.manage", "collections.manage", "content.manage", "projects.manage"},
	"admin":   {"roles.manage", "settings.manage", "members.manage", "invites.manage", "collections.manage", "content.manage"},
	"manager": {"members.manage", "invites.manage", "collections.manage", "content.manage"},
	"editor":  {"collections.manage", "content.manage"},
	"author":  {"content.manage"},
}

// ValidRole reports whether role is one of the documented roles.
func ValidRole(role string) bool { _, ok := rolePermissions[role]; return ok }

// Project is a project the native relay serves.
type Project struct {
	// Slug names the project (project_slug) and its store records
	// (CheckSlug); it is also its project_id unless ID is set.
	Slug string
	ID   string
	// Account is account_slug; default: the repository owner.
	Account string
	// RepoOwner and RepoSlug name the GitHub repository; MonorepoPath is
	// passed on as monorepo_path.
	RepoOwner, RepoSlug, MonorepoPath string
	// Pro is is_pro in the key check.
	Pro bool
	// Targets are the project's callback origins.
	Targets validate.Targets
	// Members maps a GitHub login or e-mail address to a role. NewNative
	// keys each by the identity rule (package identity: ASCII case only)
	// and refuses one that does not parse.
	Members map[string]string
	// KeySHA256 are keys declared by their hash, beside the stored one.
	KeySHA256 []string
	// AI answers the project's completions (generate.go); nil: the
	// relay has none for it.
	AI *AI
}

// GitHubApp is the relay's own GitHub OAuth app.
type GitHubApp struct {
	ClientID, ClientSecret string
	// BaseURL serves /login/oauth/...; default https://github.com.
	BaseURL string
	// APIURL serves /user and /user/emails; default https://api.github.com.
	APIURL string
	// GraphQLURL; default APIURL+"/graphql" (GitHub Enterprise Server:
	// <host>/api/graphql).
	GraphQLURL string
}

// NativeConfig configures the native relay.
type NativeConfig struct {
	// PublicURL is the relay's public base URL: the site's
	// OUTSTATIC_API_URL. The login start and GitHub's redirect live under it.
	PublicURL *url.URL
	Projects  []Project
	GitHub    GitHubApp
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
	RepoApp *RepoApp
	// Mailer sends invitations; default: none (the link is handed back
	// to whoever invited, to pass on).
	Mailer Mailer
	// KeyRecheck is how long a key confirmed active is trusted without
	// reading whether any key changed (default 1s): a key rotated or
	// revoked on another instance is refused here within that time.
	KeyRecheck time.Duration
	// Client calls GitHub; default: one with a 10s timeout.
	Client *http.Client
	Logger *zap.Logger
	Now    func() time.Time

	// RepoToken returns a token that reads the project's repository with
	// no user session (the scan, scan.go): the relay's GitHub App
	// installation token. Nil: the scan answers 501.
	RepoToken func(ctx context.Context, p *Project) (string, error)

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
	cfg      NativeConfig
	base     string // PublicURL without a trailing slash
	projects map[string]*Project
	declared map[string]*Project // declared key hash → project
	seal     *sealer
	login    Provider     // the GitHub login provider, or the development login (OIDC and e-mail have their own fields)
	github   *githubLogin // the same, as GitHub: validate-github-user and token renewal need it
	graphql  string
	oidc     *oidcLogin       // nil without an OIDC issuer
	email    *emailLogin      // nil without e-mail logins
	origins  validate.Targets // every project's origins, for preflights
	log      *zap.Logger

	keys     keyMemory // stored key hashes confirmed active → project (keymemory.go)
	bodies   sync.Map  // *Project → its key check answer, *projectReply
	migrate  singleflight.Group
	migrated atomic.Bool        // every key record has its hash record
	renewals singleflight.Group // GitHub token renewals, by session family
	members  memberCache
	apps     map[string]*ghapp.TokenSource // by project slug, with RepoApp

	originCache originCache                  // stored callback origins, briefly (origins.go)
	pages       atomic.Pointer[http.Handler] // the relay's own pages (SetPages)

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
	if (cfg.GitHub.ClientID == "" || cfg.GitHub.ClientSecret == "") && !cfg.DevLogin {
		return nil, errors.New("github client_id and client_secret are required")
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
	if cfg.KeyRecheck <= 0 {
		cfg.KeyRecheck = defaultKeyRecheck
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
	seal, err := newSealer(cfg.Secret, cfg.Now)
	if err != nil {
		return nil, err
	}
	n := &Native{cfg: cfg, base: strings.TrimSuffix(cfg.PublicURL.String(), "/"), seal: seal,
		projects: map[string]*Project{}, declared: map[string]*Project{}, log: cfg.Logger, starts: starts}
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		if err := CheckSlug(p.Slug); err != nil {
			return nil, err
		}
		if n.projects[p.Slug] != nil {
			return nil, fmt.Errorf("project %q: repeated slug", p.Slug)
		}
		if p.ID == "" {
			p.ID = p.Slug
		}
		if p.Account == "" {
			p.Account = p.RepoOwner
		}
		members := make(map[string]string, len(p.Members))
		for who, role := range p.Members {
			if !ValidRole(role) {
				return nil, fmt.Errorf("project %q: member %q has unknown role %q", p.Slug, who, role)
			}
			k, err := identity.Member(who)
			if err != nil {
				return nil, fmt.Errorf("project %q: member: %v", p.Slug, err)
			}
			if prev, ok := members[k]; ok && prev != role {
				return nil, fmt.Errorf("project %q: member %q is listed twice, as %s and as %s", p.Slug, who, prev, role)
			}
			members[k] = role
		}
		p.Members = members
		for _, h := range p.KeySHA256 {
			n.declared[strings.ToLower(h)] = p
		}
		n.projects[p.Slug] = p
		n.origins.Origins = append(n.origins.Origins, p.Targets.Origins...)
	}
	gh := cfg.GitHub
	if gh.BaseURL == "" {
		gh.BaseURL = "https://github.com"
	}
	if gh.APIURL == "" {
		gh.APIURL = "https://api.github.com"
	}
	if gh.GraphQLURL == "" {
		gh.GraphQLURL = strings.TrimSuffix(gh.APIURL, "/") + "/graphql"
	}
	n.cfg.GitHub = gh
	n.graphql = gh.GraphQLURL
	n.github = newGitHubLogin(gh, n.base+protocol.GitHubCallback.Path, cfg.Client, cfg.Now)
	n.login = n.github
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
func (n *Native) authProject(w http.ResponseWriter, r *http.Request, message string) *Project {
	key, ok := bearer(r)
	if ok {
		p, err := n.projectForKey(r.Context(), key)
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
	protocol.WriteJSONBytes(w, http.StatusOK, n.projectBody(r.Context(), p))
}
