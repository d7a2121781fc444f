package outstatic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/pages"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
)

// RelayProject is a project the relay serves in native mode.
type RelayProject struct {
	// Slug names the project; it is its project_id unless ID is set.
	Slug string `json:"slug"`
	// ID is the project_id the dashboard sends back in x-project-id.
	// Default: the slug.
	ID string `json:"id,omitempty"`
	// Account is account_slug. Default: the repository owner.
	Account string `json:"account,omitempty"`
	// Repo is the GitHub repository, owner/name.
	Repo string `json:"repo"`
	// MonorepoPath is passed on as monorepo_path. Default: none.
	MonorepoPath string `json:"monorepo_path,omitempty"`
	// Plan is "pro" or "free": is_pro in the key check. Default: pro.
	Plan string `json:"plan,omitempty"`
	// CallbackOrigins are the project's callback origins (see the guard).
	CallbackOrigins []string `json:"callback_origins"`
	// StrictCallbacks refuses the stock-client callback form. Default:
	// false.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`
	// KeySHA256 declares keys by their SHA-256 in hex (made with
	// `caddy outstatic key generate`), beside the key in the store.
	KeySHA256 []string `json:"key_sha256,omitempty"`
	// Members who may log in: a GitHub login or a verified e-mail address,
	// and a role: owner, admin, manager, editor or author.
	Members []RelayMember `json:"members,omitempty"`
	// AI answers this project's AI completions, in place of the relay's.
	// Default: the relay's ai block.
	AI *RelayAI `json:"ai,omitempty"`
}

// RelayMember is one member of a project.
type RelayMember struct {
	// Who is a GitHub login or a verified e-mail address. ASCII letters
	// may be in any case; nothing else is folded: an e-mail domain must be
	// written as registered (IDNA, in Unicode or as xn--), and a name that
	// does not parse is refused.
	Who string `json:"who"`
	// Role is owner, admin, manager, editor or author.
	Role string `json:"role"`
}

// check checks one member line of the Caddyfile by the roster's rule.
func (m RelayMember) check() error {
	_, err := roster.KeyMembers([]roster.Member{{Who: m.Who, Role: m.Role}})
	return err
}

// check is the one check of a project, for Validate and the Caddyfile
// (which checks each member and origin on its own line first): the
// roster's project rule, which the doors that make projects at run time
// use too, then what only the configuration has (members, ai).
func (p RelayProject) check() error {
	spec := roster.ProjectSpec{Slug: p.Slug, Repo: p.Repo, Plan: p.Plan, Origins: p.CallbackOrigins}
	if err := spec.Check(); err != nil {
		return err
	}
	members := make([]roster.Member, len(p.Members))
	for i, m := range p.Members {
		members[i] = roster.Member{Who: m.Who, Role: m.Role}
	}
	if _, err := roster.KeyMembers(members); err != nil {
		return fmt.Errorf("project %s: %v", p.Slug, err)
	}
	if p.AI != nil {
		if err := p.AI.check(); err != nil {
			return fmt.Errorf("project %s: %v", p.Slug, err)
		}
	}
	return nil
}

// RelayGitHub is the relay's own GitHub OAuth app. Its callback URL is
// <public_url>/outstatic/auth/github/callback.
type RelayGitHub struct {
	// ClientID is the OAuth app's client id. Required.
	ClientID string `json:"client_id"`
	// ClientSecret as an {env.*} or {file.*} placeholder. Required.
	ClientSecret string `json:"client_secret"`
	// BaseURL of the web flow. Default: https://github.com.
	BaseURL string `json:"base_url,omitempty"`
	// APIURL of the REST API. Default: https://api.github.com.
	APIURL string `json:"api_url,omitempty"`
	// GraphQLURL. Default: APIURL + /graphql.
	GraphQLURL string `json:"graphql_url,omitempty"`
}

// app is the native relay's configuration for gh (none: the zero app),
// its client secret through expand.
func (gh *RelayGitHub) app(expand func(string) string) github.OAuthApp {
	if gh == nil {
		return github.OAuthApp{}
	}
	return github.OAuthApp{ClientID: gh.ClientID, ClientSecret: expand(gh.ClientSecret),
		BaseURL: gh.BaseURL, APIURL: gh.APIURL, GraphQLURL: gh.GraphQLURL}
}

// expanded is the native relay's configuration for gh with its client
// secret expanded (expandSecret's error if it expands to nothing). A block
// of URLs alone has no secret to expand.
func (gh *RelayGitHub) expanded(repl *caddy.Replacer) (github.OAuthApp, error) {
	if gh == nil || gh.ClientSecret == "" {
		return gh.literal(), nil
	}
	secret, err := expandSecret(repl, "github client_secret", gh.ClientSecret)
	if err != nil {
		return github.OAuthApp{}, err
	}
	return gh.app(func(string) string { return secret }), nil
}

// check is the one check of the OAuth app's credentials: the GitHub
// client's.
func (gh *RelayGitHub) check() error { return gh.literal().Check() }

// literal is gh's app with its client secret as written (a placeholder).
func (gh *RelayGitHub) literal() github.OAuthApp { return gh.app(func(s string) string { return s }) }

// RelayGitHubApp is the GitHub App the native relay acts as for sessions
// without a GitHub token of their own. Install it on each project's
// repository with read and write access to contents. Its API calls go to
// the github block's api_url.
type RelayGitHubApp struct {
	// AppID is the App's numeric id. Required.
	AppID int64 `json:"app_id"`
	// PrivateKey is the App's private key (PEM), as a {file.*} or {env.*}
	// placeholder, expanded at provisioning. Required.
	PrivateKey string `json:"private_key"`
	// InstallationID is the installation to act as. Default: found from
	// each project's repository.
	InstallationID int64 `json:"installation_id,omitempty"`
}

// check is the one check of the App's settings.
func (a *RelayGitHubApp) check() error {
	if a.AppID <= 0 {
		return errors.New("github_app needs app_id, the App's numeric id")
	}
	if a.PrivateKey == "" {
		return errors.New("github_app needs private_key, as a {file.*} or {env.*} placeholder")
	}
	if a.InstallationID < 0 {
		return errors.New("github_app: installation_id must not be negative")
	}
	return nil
}

// repoApp expands the App's key for the native relay.
func (a *RelayGitHubApp) repoApp(repl *caddy.Replacer) (*github.App, error) {
	if a == nil {
		return nil, nil
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	key, err := expandSecret(repl, "github_app private_key", a.PrivateKey)
	if err != nil {
		return nil, err
	}
	return &github.App{AppID: a.AppID, PrivateKey: []byte(key), InstallationID: a.InstallationID}, nil
}

// publicURL is public_url, required in native mode and checked by the
// native relay's rule (native.ParsePublicURL).
func (rl *Relay) publicURL() (*url.URL, error) {
	if rl.PublicURL == "" {
		return nil, errors.New("native mode (no upstream) needs public_url, the relay's public URL: the sites' OUTSTATIC_API_URL")
	}
	return native.ParsePublicURL(rl.PublicURL)
}

// provisionNative sets up the relay in native mode.
func (rl *Relay) provisionNative(ctx caddy.Context, targetsFor func([]string, bool) (validate.Targets, error), appHosts []string) error {
	repl := caddy.NewReplacer()
	pub, err := rl.publicURL()
	if err != nil {
		return err
	}
	if rl.DevLogin {
		if err := rl.checkDevLoginURL(); err != nil {
			return err
		}
		if err := checkDevLoginListeners(ctx); err != nil {
			return err
		}
	}
	st, closer, err := openStore(ctx, rl.Redis, repl)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	rl.closers = append(rl.closers, closer)
	if sw, ok := st.(store.Sweeper); ok {
		go sweep(ctx, sw, rl.logger)
	}
	secret, err := rl.relaySecret(ctx, st, repl)
	if err != nil {
		return err
	}

	projects, err := rl.nativeProjects(targetsFor)
	if err != nil {
		return err
	}
	if err := rl.nativeAI(projects, repl); err != nil {
		return err
	}
	app, err := rl.GitHubApp.repoApp(repl)
	if err != nil {
		return err
	}
	gh, err := rl.GitHub.expanded(repl)
	if err != nil {
		return err
	}
	cfg := native.NativeConfig{
		PublicURL:  pub,
		Projects:   projects,
		GitHub:     gh,
		Store:      st,
		Secret:     secret,
		Callbacks:  rl.callbacks,
		AppHosts:   appHosts,
		SessionTTL: time.Duration(rl.SessionTTL),
		RefreshTTL: time.Duration(rl.RefreshTTL),
		RepoApp:    app,
		DevLogin:   rl.DevLogin,
		CountLogin: func(provider, outcome, reason string) {
			rl.metrics.logins.WithLabelValues(provider, outcome, reason).Inc()
		},
		KeyRecheck: time.Duration(rl.KeyRecheck),
		// Its own logger, for Caddy's log config to send anywhere.
		AuditLogger:    caddy.Log().Named("outstatic.audit"),
		AuditRetention: time.Duration(rl.AuditRetention),
		Logger:         rl.logger,
		StartLimit:     rl.StartLimit.native(),
		ClientIP:       clientIP,
		RequestID:      requestID,
	}
	if err := rl.nativeLogins(&cfg, repl); err != nil {
		return err
	}
	native, err := native.NewNative(cfg)
	if err != nil {
		return err
	}
	// The relay's own Members and API Keys pages (package relay/pages),
	// where the dashboard's sidebar links go when the site is built with
	// NEXT_PUBLIC_OST_APP_URL set to public_url.
	operators, err := roster.KeyOperators(rl.Operators)
	if err != nil {
		return err
	}
	pg, err := pages.New(pages.Config{SignIn: native.Logins(), Roster: native.Roster(), Operators: operators,
		Logger: rl.logger.Named("pages"), RequestID: requestID})
	if err != nil {
		return err
	}
	native.SetPages(pg)
	rl.native = native
	rl.handler = native
	registerNative(native)
	return nil
}

// nativeProjects turns the configured projects into the native relay's.
func (rl *Relay) nativeProjects(targetsFor func([]string, bool) (validate.Targets, error)) ([]native.Project, error) {
	var projects []native.Project
	for _, rp := range rl.Projects {
		if err := rp.check(); err != nil {
			return nil, err
		}
		owner, name, _ := strings.Cut(rp.Repo, "/")
		targets, err := targetsFor(rp.CallbackOrigins, rp.StrictCallbacks)
		if err != nil {
			return nil, fmt.Errorf("project %q: %v", rp.Slug, err)
		}
		p := native.Project{Project: roster.Project{Slug: rp.Slug, ID: rp.ID, Account: rp.Account, RepoOwner: owner, RepoSlug: name,
			MonorepoPath: rp.MonorepoPath, Pro: rp.Plan != "free", Targets: targets,
			Members: map[string]string{}, KeySHA256: rp.KeySHA256}}
		// rp.check refused a member listed twice with two roles; NewNative
		// keys them by the identity rule.
		for _, m := range rp.Members {
			p.Members[m.Who] = m.Role
		}
		projects = append(projects, p)
	}
	return projects, nil
}

// relaySecret expands the configured secret, or reads the one kept in the
// store, drawing it the first time. PutNew makes instances that start
// together agree on one.
func (rl *Relay) relaySecret(ctx caddy.Context, st store.Store, repl *caddy.Replacer) ([]byte, error) {
	if rl.Secret != "" {
		s, err := expandSecret(repl, "secret", rl.Secret)
		if err != nil {
			return nil, err
		}
		if len(s) < 32 {
			return nil, fmt.Errorf("secret %s must expand to at least 32 characters", rl.Secret)
		}
		// Any length in, 32 uniform bytes out.
		sum := sha256.Sum256([]byte(s))
		return sum[:], nil
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	err := st.PutNew(c, roster.SecretName, []byte(hex.EncodeToString(fresh)), 0)
	if err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("keeping the relay secret: %v", err)
	}
	kept, err := st.Get(c, roster.SecretName)
	if err != nil {
		return nil, fmt.Errorf("reading the relay secret: %v", err)
	}
	return hex.DecodeString(string(kept))
}

// RelayStartLimit bounds how often one client IP may open the native
// relay's login start routes for one project
// (<public_url>/outstatic/auth/github/start, and the OpenID Connect
// issuer's), where each start mints a sealed state and sends the browser
// to the provider. Each project counts apart. The client IP is Caddy's
// (list a proxy in front in trusted_proxies, or every browser counts as
// the proxy's address); an IPv6 client is its /64. A client past the limit
// is answered 429 with Retry-After.
type RelayStartLimit struct {
	// Burst is how many starts one client may make at once. Default: 30.
	Burst int `json:"burst,omitempty"`
	// Every is the time one start takes to come back (the steady rate).
	// Default: 2s.
	Every caddy.Duration `json:"every,omitempty"`
	// Off turns the limit off (e.g. when a rate limiter stands in front).
	// Default: false.
	Off bool `json:"off,omitempty"`
}

// check is the one check of the start limit.
func (l *RelayStartLimit) check() error {
	if l == nil || l.Off {
		return nil
	}
	if l.Burst < 0 || l.Every < 0 {
		return fmt.Errorf("start_limit: burst and every must not be negative")
	}
	return nil
}

// native is the limit as the native relay takes it; nil means the defaults.
func (l *RelayStartLimit) native() login.StartLimit {
	switch {
	case l == nil:
		return login.StartLimit{}
	case l.Off:
		return login.StartLimit{Burst: -1}
	}
	return login.StartLimit{Burst: l.Burst, Every: time.Duration(l.Every)}
}
