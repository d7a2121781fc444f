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
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
)

// RelayProject is a project the relay serves in native mode.
type RelayProject struct {
	// Slug names the project; it is its project_id unless ID is set.
	Slug string `json:"slug"`
	// ID is the project_id the dashboard sends back in x-project-id.
	ID string `json:"id,omitempty"`
	// Account is account_slug. Default: the repository owner.
	Account string `json:"account,omitempty"`
	// Repo is the GitHub repository, owner/name.
	Repo string `json:"repo"`
	// MonorepoPath is passed on as monorepo_path.
	MonorepoPath string `json:"monorepo_path,omitempty"`
	// Plan is "pro" or "free": is_pro in the key check. Default: pro.
	Plan string `json:"plan,omitempty"`
	// CallbackOrigins are the project's callback origins (see the guard).
	CallbackOrigins []string `json:"callback_origins"`
	// StrictCallbacks refuses the stock-client callback form.
	StrictCallbacks bool `json:"strict_callbacks,omitempty"`
	// KeySHA256 declares keys by their SHA-256 in hex (made with
	// `caddy outstatic key generate`), beside the key in the store.
	KeySHA256 []string `json:"key_sha256,omitempty"`
	// Members who may log in: a GitHub login or a verified e-mail address,
	// and a role: owner, admin, manager, editor or author.
	Members []RelayMember `json:"members,omitempty"`
}

// RelayMember is one member of a project.
type RelayMember struct {
	Who  string `json:"who"`
	Role string `json:"role"`
}

// RelayGitHub is the relay's own GitHub OAuth app. Its callback URL is
// <public_url>/outstatic/auth/github/callback.
type RelayGitHub struct {
	ClientID string `json:"client_id"`
	// ClientSecret as an {env.*} or {file.*} placeholder.
	ClientSecret string `json:"client_secret"`
	// BaseURL of the web flow. Default: https://github.com.
	BaseURL string `json:"base_url,omitempty"`
	// APIURL of the REST API. Default: https://api.github.com.
	APIURL string `json:"api_url,omitempty"`
	// GraphQLURL. Default: APIURL + /graphql.
	GraphQLURL string `json:"graphql_url,omitempty"`
}

// RelayRedis keeps the relay's state in Redis, for several instances.
type RelayRedis struct {
	Address string `json:"address"`
	// Password as an {env.*} or {file.*} placeholder.
	Password string `json:"password,omitempty"`
	DB       int    `json:"db,omitempty"`
	// Prefix of every key. Default: outstatic.
	Prefix string `json:"prefix,omitempty"`
}

// nativeRelays finds, by project slug, the native relay that serves it,
// for the admin API. The newest provisioned one wins, so that during a
// config reload the new config is the one being managed.
var nativeRelays = struct {
	sync.Mutex
	bySlug map[string][]*relay.Native
}{bySlug: map[string][]*relay.Native{}}

func registerNative(n *relay.Native) {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	for _, slug := range n.Projects() {
		nativeRelays.bySlug[slug] = append(nativeRelays.bySlug[slug], n)
	}
}

func unregisterNative(n *relay.Native) {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	for _, slug := range n.Projects() {
		list := nativeRelays.bySlug[slug]
		for i, x := range list {
			if x == n {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		nativeRelays.bySlug[slug] = list
	}
}

// nativeFor returns the relay serving slug, or nil.
func nativeFor(slug string) *relay.Native {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	return nativeForLocked(slug)
}

// provisionNative sets up the relay in native mode.
func (rl *Relay) provisionNative(ctx caddy.Context, targetsFor func([]string, bool) (validate.Targets, error), appHosts []string) error {
	repl := caddy.NewReplacer()
	pub, err := url.Parse(rl.PublicURL)
	if err != nil || (pub.Scheme != "https" && pub.Scheme != "http") || pub.Host == "" || pub.RawQuery != "" {
		return fmt.Errorf("public_url %q: want the relay's absolute http(s) URL, the site's OUTSTATIC_API_URL", rl.PublicURL)
	}
	st, closer := openStore(ctx, rl.Redis, repl)
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
	gh := RelayGitHub{}
	if rl.GitHub != nil {
		gh = *rl.GitHub
	}
	native, err := relay.NewNative(relay.NativeConfig{
		PublicURL: pub,
		Projects:  projects,
		GitHub: relay.GitHubApp{ClientID: gh.ClientID, ClientSecret: repl.ReplaceKnown(gh.ClientSecret, ""),
			BaseURL: gh.BaseURL, APIURL: gh.APIURL, GraphQLURL: gh.GraphQLURL},
		Store:      st,
		Secret:     secret,
		Callbacks:  rl.callbacks,
		AppHosts:   appHosts,
		SessionTTL: time.Duration(rl.SessionTTL),
		RefreshTTL: time.Duration(rl.RefreshTTL),
		Logger:     rl.logger,
	})
	if err != nil {
		return err
	}
	rl.native = native
	rl.handler = native
	registerNative(native)
	return nil
}

// nativeProjects turns the configured projects into the native relay's.
func (rl *Relay) nativeProjects(targetsFor func([]string, bool) (validate.Targets, error)) ([]relay.Project, error) {
	var projects []relay.Project
	for _, rp := range rl.Projects {
		owner, name, ok := strings.Cut(rp.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("project %q: repo %q is not owner/name", rp.Slug, rp.Repo)
		}
		targets, err := targetsFor(rp.CallbackOrigins, rp.StrictCallbacks)
		if err != nil {
			return nil, fmt.Errorf("project %q: %v", rp.Slug, err)
		}
		p := relay.Project{Slug: rp.Slug, ID: rp.ID, Account: rp.Account, RepoOwner: owner, RepoSlug: name,
			MonorepoPath: rp.MonorepoPath, Pro: rp.Plan != "free", Targets: targets,
			Members: map[string]string{}, KeySHA256: rp.KeySHA256}
		// Case is folded by relay.NewNative, the one place members are
		// normalized; a login listed twice with two roles is refused there
		// or here.
		for _, m := range rp.Members {
			if prev, ok := p.Members[m.Who]; ok && prev != m.Role {
				return nil, fmt.Errorf("project %q: member %q is listed twice, as %s and as %s", rp.Slug, m.Who, prev, m.Role)
			}
			p.Members[m.Who] = m.Role
		}
		projects = append(projects, p)
	}
	return projects, nil
}

// SharedStore says where state shared by several Caddy instances lives.
type SharedStore struct {
	// Redis, when set; otherwise Caddy's configured storage.
	Redis *RelayRedis `json:"redis,omitempty"`
}

// openStore opens Redis when r is set, else Caddy's configured storage.
// The returned function releases it.
func openStore(ctx caddy.Context, r *RelayRedis, repl *caddy.Replacer) (store.Store, func() error) {
	if r == nil {
		return store.NewStorage(ctx.Storage(), "outstatic"), func() error { return nil }
	}
	prefix := r.Prefix
	if prefix == "" {
		prefix = "outstatic"
	}
	client := redis.NewClient(&redis.Options{
		Addr:         r.Address,
		Password:     repl.ReplaceKnown(r.Password, ""),
		DB:           r.DB,
		DialTimeout:  3 * time.Second,
		ReadTimeout:  3 * time.Second,
		WriteTimeout: 3 * time.Second,
	})
	return store.NewRedis(client, prefix), client.Close
}

// callbackMemory is where exchange tokens' callbacks are recorded: in a
// shared store when one is configured, else in process memory, shared by
// the guards and relays of this Caddy.
func callbackMemory(ctx caddy.Context, shared *SharedStore, logger *zap.Logger) (relay.CallbackMemory, func() error) {
	if shared == nil {
		return tokenCallbacks, func() error { return nil }
	}
	st, closer := openStore(ctx, shared.Redis, caddy.NewReplacer())
	return relay.StoreCallbacks{Store: st, TTL: 5 * time.Minute, Logger: logger}, closer
}

// sweep removes expired tokens and spent markers from a file store every
// few minutes (Redis expires its own) until the config is unloaded.
func sweep(ctx caddy.Context, sw store.Sweeper, logger *zap.Logger) {
	t := time.NewTicker(storeSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := sw.Sweep(ctx); err != nil {
				logger.Warn("sweeping expired relay state", zap.Error(err))
			} else if n > 0 {
				logger.Debug("swept expired relay state", zap.Int("removed", n))
			}
		}
	}
}

// relaySecret expands the configured secret, or reads the one kept in the
// store, drawing it the first time. PutNew makes instances that start
// together agree on one.
func (rl *Relay) relaySecret(ctx caddy.Context, st store.Store, repl *caddy.Replacer) ([]byte, error) {
	if rl.Secret != "" {
		s := repl.ReplaceKnown(rl.Secret, "")
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
	err := st.PutNew(c, "secret", []byte(hex.EncodeToString(fresh)), 0)
	if err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("keeping the relay secret: %v", err)
	}
	kept, err := st.Get(c, "secret")
	if err != nil {
		return nil, fmt.Errorf("reading the relay secret: %v", err)
	}
	return hex.DecodeString(string(kept))
}
