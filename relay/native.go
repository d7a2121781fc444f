package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

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
	// Slug names the project (project_slug); it is also its project_id
	// unless ID is set.
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
	// Members maps a lowercase GitHub login or e-mail address to a role.
	Members map[string]string
	// KeySHA256 are keys declared by their hash, beside the stored one.
	KeySHA256 []string
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
	// Store keeps key records, exchange tokens and spent markers.
	Store store.Store
	// Secret seals states, sessions and token payloads (32 bytes or more).
	Secret []byte
	// Callbacks holds the public callbacks exchange tokens arrived at, as
	// a guard in the same process recorded them.
	Callbacks CallbackMemory
	// AppHosts are the host:port the sites name themselves by.
	AppHosts []string
	// SessionTTL is the access token's lifetime (default 1h); RefreshTTL
	// the refresh token's (default 30 days).
	SessionTTL, RefreshTTL time.Duration
	// Client calls GitHub; default: one with a 10s timeout.
	Client *http.Client
	Logger *zap.Logger
	Now    func() time.Time
}

// Native is the relay in native mode: it answers the protocol itself for
// the projects of its configuration. It is safe for concurrent use.
type Native struct {
	cfg      NativeConfig
	base     string // PublicURL without a trailing slash
	projects map[string]*Project
	declared map[string]*Project // declared key hash → project
	seal     *sealer
	oauth    oauth2.Config
	graphql  string
	origins  validate.Targets // every project's origins, for preflights
	log      *zap.Logger

	indexMu sync.RWMutex
	index   map[string]*Project // stored key hash → project
	rebuild singleflight.Group
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
	if cfg.GitHub.ClientID == "" || cfg.GitHub.ClientSecret == "" {
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
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	appHosts, err := checkAppHosts(cfg.AppHosts)
	if err != nil {
		return nil, err
	}
	cfg.AppHosts = appHosts
	seal, err := newSealer(cfg.Secret, cfg.Now)
	if err != nil {
		return nil, err
	}
	n := &Native{cfg: cfg, base: strings.TrimSuffix(cfg.PublicURL.String(), "/"), seal: seal,
		projects: map[string]*Project{}, declared: map[string]*Project{}, log: cfg.Logger}
	for i := range cfg.Projects {
		p := &cfg.Projects[i]
		if p.Slug == "" || n.projects[p.Slug] != nil {
			return nil, fmt.Errorf("project %q: empty or repeated slug", p.Slug)
		}
		if p.ID == "" {
			p.ID = p.Slug
		}
		if p.Account == "" {
			p.Account = p.RepoOwner
		}
		for who, role := range p.Members {
			if !ValidRole(role) {
				return nil, fmt.Errorf("project %q: member %q has unknown role %q", p.Slug, who, role)
			}
		}
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
	n.oauth = oauth2.Config{
		ClientID:     gh.ClientID,
		ClientSecret: gh.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   strings.TrimSuffix(gh.BaseURL, "/") + "/login/oauth/authorize",
			TokenURL:  strings.TrimSuffix(gh.BaseURL, "/") + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: n.base + "/outstatic/auth/github/callback",
		// repo: the dashboard reads and writes the content repository through
		// the parser with this token, as the stock GitHub login requests.
		Scopes: []string{"read:user", "user:email", "repo"},
	}
	return n, nil
}

// ServeHTTP routes a call to its endpoint.
func (n *Native) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/outstatic/project":
		n.only(w, r, http.MethodGet, n.serveProject)
	case p == "/outstatic/auth/github-exchange":
		n.only(w, r, http.MethodPost, n.serveGitHubExchange)
	case p == "/outstatic/auth/github/start":
		n.only(w, r, http.MethodGet, n.serveStart)
	case p == "/outstatic/auth/github/callback":
		n.only(w, r, http.MethodGet, n.serveGitHubCallback)
	case p == "/outstatic/auth/exchange-token":
		n.only(w, r, http.MethodPost, n.serveExchangeToken)
	case p == "/outstatic/auth/refresh-token":
		n.only(w, r, http.MethodPost, n.serveRefresh)
	case p == "/github/parser":
		n.serveParser(w, r)
	case strings.HasPrefix(p, mediaPrefix):
		n.serveMedia(w, r)
	case p == "/outstatic/auth/validate-github-user":
		n.only(w, r, http.MethodPost, n.serveValidateGitHubUser)
	case p == "/outstatic/auth/google-exchange", p == "/outstatic/auth/request-magic-link",
		p == "/outstatic/generate", p == "/outstatic/scan":
		writeError(w, http.StatusNotImplemented, "not-supported")
	default:
		writeError(w, http.StatusNotFound, "not-found")
	}
}

func (n *Native) only(w http.ResponseWriter, r *http.Request, method string, h http.HandlerFunc) {
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "method-not-allowed")
		return
	}
	h(w, r)
}

// keyRecord is what the store keeps of a project's active key.
type keyRecord struct {
	Hash    string    `json:"hash"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
}

func keyRecordName(slug string) string { return "keys/" + slug }

// projectForKey finds the project whose active key this is. An in-memory
// index maps key hashes to projects, so a call costs one store read: the
// record of the project the index names, which confirms the key is still
// its active one, so that a rotation or revocation on any instance takes
// effect at once everywhere. A hash the index lacks (a key made on another
// instance) rebuilds the index; concurrent misses share one rebuild.
func (n *Native) projectForKey(ctx context.Context, key string) (*Project, error) {
	if CheckKeyFormat(key) != nil {
		return nil, errMalformedKey
	}
	h := HashKey(key)
	if p := n.declared[h]; p != nil {
		return p, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		n.indexMu.RLock()
		p := n.index[h]
		n.indexMu.RUnlock()
		if p != nil {
			rec, err := n.keyRecord(ctx, p.Slug)
			switch {
			case err == nil && sameHash(rec.Hash, h):
				return p, nil
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
		}
		if attempt == 0 {
			if _, err, _ := n.rebuild.Do("index", func() (any, error) { return nil, n.rebuildIndex(ctx) }); err != nil {
				return nil, err
			}
		}
	}
	return nil, errMalformedKey
}

// rebuildIndex reads every project's key record into the index.
func (n *Native) rebuildIndex(ctx context.Context) error {
	index := map[string]*Project{}
	for _, p := range n.projects {
		rec, err := n.keyRecord(ctx, p.Slug)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		index[rec.Hash] = p
	}
	n.indexMu.Lock()
	n.index = index
	n.indexMu.Unlock()
	return nil
}

func (n *Native) keyRecord(ctx context.Context, slug string) (keyRecord, error) {
	var rec keyRecord
	data, err := n.cfg.Store.Get(ctx, keyRecordName(slug))
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(data, &rec)
}

// keyGeneration identifies the project's current key, so that a session
// minted under one key ends when the key is rotated or revoked.
func (n *Native) keyGeneration(ctx context.Context, p *Project) (string, error) {
	rec, err := n.keyRecord(ctx, p.Slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "declared", nil
	case err != nil:
		return "", err
	}
	return rec.Hash[:16], nil
}

// authProject checks the key of a keyed call and answers 401 when it fails.
func (n *Native) authProject(w http.ResponseWriter, r *http.Request, message string) *Project {
	key, ok := bearer(r)
	if ok {
		p, err := n.projectForKey(r.Context(), key)
		if err == nil {
			return p
		}
		if !errors.Is(err, errMalformedKey) {
			n.log.Error("reading key records", zap.Error(err))
			writeError(w, http.StatusServiceUnavailable, "service-unavailable")
			return nil
		}
	}
	writeError(w, http.StatusUnauthorized, message)
	return nil
}

// bearer returns the single Bearer credential of r.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	return bearerToken(vals[0])
}

// serveProject answers the key check.
func (n *Native) serveProject(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, "invalid-api-key")
	if p == nil {
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]any{
		"project_id": p.ID, "project_slug": p.Slug, "account_slug": p.Account,
		"repo_owner": p.RepoOwner, "repo_slug": p.RepoSlug, "monorepo_path": p.MonorepoPath, "is_pro": p.Pro,
	})
}
