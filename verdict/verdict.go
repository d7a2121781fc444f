// Package verdict caches what the Outstatic service says about an API key.
//
// The guard reads the verdict for its configured key on every request of the
// site, so a lookup must not wait on the network once a verdict is known; the
// relay answers the site's own GET /outstatic/project from the same cache, so
// an outage of the service does not reach the site. A Cache keeps one verdict
// per key, refreshes it in the background before it runs out, serves a Valid
// verdict past its TTL only while its refresh fails or is still running,
// and drops it at once when the service says the key is no longer good.
//
// Keys are held by their SHA-256 only, except the keys passed to Watch, which
// the background loop must be able to send. Keys are never logged: log
// entries name a key by its fingerprint, the first 8 hex characters of that
// SHA-256. No key is compared with another anywhere: keys are found by
// their SHA-256 in maps, so no comparison's timing depends on a key.
package verdict

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// State is what is known about a key.
type State int

const (
	// Unknown means the key was never checked successfully and the last
	// check failed (network error, timeout, 5xx, a body that is not a
	// project): the key must not be treated as valid.
	Unknown State = iota
	// Valid means the service answered 200 with the key's project.
	Valid
	// Invalid means the service answered 401 or 403, or the key cannot be
	// a key at all (empty, or bytes a header cannot carry). It is definite.
	Invalid
)

// String returns the state's name, for logs.
func (s State) String() string {
	switch s {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	default:
		return "unknown"
	}
}

// Verdict is what the service said about a key.
type Verdict struct {
	// State is the key's state.
	State State
	// Project holds the fields of the service's answer; zero unless Valid.
	Project Project
	// Body is the exact 200 body, so the relay can answer the site's own
	// GET /outstatic/project byte for byte. It is shared by every caller
	// and must not be modified. Nil unless Valid.
	Body []byte
	// CheckedAt is when the service last answered definitively (200, 401
	// or 403); zero if it never did.
	CheckedAt time.Time
	// Stale is true when a Valid verdict is served past its TTL: the
	// refresh that should have replaced it failed (network error, timeout,
	// 5xx) or is still running. A stale verdict is served for at most
	// Options.StaleGrace past its TTL.
	Stale bool
}

// Project is the service's answer to GET /outstatic/project.
type Project struct {
	// ProjectID identifies the project; a 200 without it is not a project.
	ProjectID string `json:"project_id"`
	// ProjectSlug is the project's slug.
	ProjectSlug string `json:"project_slug"`
	// AccountSlug is the slug of the account that owns the project.
	AccountSlug string `json:"account_slug"`
	// RepoOwner is the owner of the project's GitHub repository.
	RepoOwner string `json:"repo_owner"`
	// RepoSlug is the name of the project's GitHub repository.
	RepoSlug string `json:"repo_slug"`
	// MonorepoPath is where the site lives inside the repository.
	MonorepoPath string `json:"monorepo_path"`
	// IsPro is the project's plan: the only switch the stock dashboard
	// reads for the Pro features.
	IsPro bool `json:"is_pro"`

	// The fields below are this plugin's extension of the answer
	// (docs/protocol-extensions.md), which a native relay sends and the
	// stock client ignores. They are read apart from the others (Extension),
	// so that a service that sends something else under these names still
	// has its keys verified.

	// CallbackOrigins are the project's callback origins as the relay
	// answers them (configured and stored), not yet checked: a guard
	// parses them before it uses them. Nil unless HasCallbackOrigins.
	CallbackOrigins []string `json:"-"`
	// HasCallbackOrigins is true when the answer had a callback_origins
	// list, even an empty one; false from a service that does not send it,
	// as outstatic.com.
	HasCallbackOrigins bool `json:"-"`
	// Plan is the project's plan as the relay names it, "pro" or "free";
	// "" when the answer has none. IsPro stays the switch.
	Plan string `json:"-"`
}

// Pro reports whether the key is valid and its project is on the Pro plan.
func (v Verdict) Pro() bool { return v.State == Valid && v.Project.IsPro }

// Defaults for the zero values of Options.
const (
	// DefaultTTL is how long a definitive answer is fresh.
	DefaultTTL = 5 * time.Minute
	// DefaultNegativeTTL is how long Invalid and Unknown are kept.
	DefaultNegativeTTL = 30 * time.Second
	// DefaultStaleGrace is how long past TTL a Valid verdict outlives an
	// outage of the service.
	DefaultStaleGrace = 24 * time.Hour
	// DefaultTimeout bounds one check.
	DefaultTimeout = 5 * time.Second
	// DefaultRefreshAt is the fraction of TTL after which a verdict is
	// refreshed in the background.
	DefaultRefreshAt = 0.8
	// DefaultInterval is how often the loop looks at watched keys.
	DefaultInterval = time.Second
	// DefaultMaxKeys bounds the keys held.
	DefaultMaxKeys = 1024
)

// Options configures a Cache. Zero values mean the defaults above.
type Options struct {
	// Service is the service's base URL, e.g. https://outstatic.com/api;
	// a trailing slash is allowed. The key check is GET
	// {Service}/outstatic/project.
	Service string
	// TTL is how long a definitive answer is fresh. Default 5m.
	TTL time.Duration
	// NegativeTTL is how long Invalid and Unknown verdicts are kept before
	// a new check is allowed, so a failing service is not hammered and a
	// request does not wait again for a check that just failed. Default 30s.
	NegativeTTL time.Duration
	// StaleGrace is how long past its TTL a Valid verdict keeps being
	// served while the service fails. Default 24h; negative disables it.
	StaleGrace time.Duration
	// Timeout bounds every check, connection to last byte. Default 5s.
	Timeout time.Duration
	// RefreshAt is the fraction of TTL after which a verdict is refreshed
	// in the background, in (0, 1]. Default 0.8.
	RefreshAt float64
	// Client sends the checks. Default: a client with Timeout that does
	// not follow redirects (a redirect to another host would drop the
	// Authorization header and turn a good key into a 401).
	Client *http.Client
	// Logger receives the cache's entries. Default: no logging.
	Logger *zap.Logger
	// Now is the clock. Default time.Now; tests pass a fake one.
	Now func() time.Time
	// Interval is how often the background loop looks for watched keys
	// due for a refresh. Default 1s, or less when the time between
	// RefreshAt*TTL and TTL is under 2s.
	Interval time.Duration
	// MaxKeys bounds how many keys the cache holds: once it holds that
	// many, verdicts for keys that are not watched are answered but not
	// kept, so a flood of made-up keys (the relay's key check is public)
	// cannot grow memory. Watched keys are always kept. Default 1024.
	MaxKeys int

	// CountCheck, when set, is called once per finished check with its
	// result: CheckOK, CheckInvalid, CheckError, or CheckStale (a failed
	// check while a stale Valid verdict keeps being served). For metrics.
	CountCheck func(result string)
	// CountStaleServe, when set, is called whenever Lookup answers with a
	// stale verdict. For metrics.
	CountStaleServe func()

	// applied, when set, is called with the verdict of every check the
	// service answered, once the check is over: tests wait on it instead
	// of sleeping.
	applied func(Verdict)
}

// Cache holds the verdicts for API keys. Its methods are safe for
// concurrent use. Close it to stop its background work.
type Cache struct {
	endpoint     string
	client       *http.Client
	log          *zap.Logger
	now          func() time.Time
	ttl          time.Duration
	negTTL       time.Duration
	grace        time.Duration
	timeout      time.Duration
	refreshAfter time.Duration
	interval     time.Duration
	maxKeys      int
	applied      func(Verdict)
	countCheck   func(string)
	countStale   func()

	// items maps the SHA-256 of a key (as a string of 32 bytes) to its
	// *entry. Its own expiry is only a memory bound for keys nobody
	// watches; freshness is decided with c.now, so tests can move time.
	items *gocache.Cache
	// group makes concurrent checks of one key a single request.
	group singleflight.Group
	// flights holds the ids of keys with a background refresh running, so
	// a hot path that finds a verdict due starts at most one.
	flights sync.Map

	base   context.Context // canceled by Close: aborts checks in flight
	cancel context.CancelFunc
	wake   chan struct{} // nudges the loop, e.g. when a key is watched

	mu      sync.Mutex // guards the fields below and every write to items
	watched map[[sha256.Size]byte]*watch
	gen     uint64 // bumped by Forget: checks begun before it are not kept
	seq     uint64 // counts the checks begun, so a late answer does not replace a newer one
	closed  bool
	wg      sync.WaitGroup // the loop and every check or refresh running
}

// New returns a Cache and starts its background loop; Close stops it.
func New(opts Options) *Cache {
	c := &Cache{
		endpoint: strings.TrimRight(opts.Service, "/") + protocol.Project.Path,
		client:   opts.Client,
		log:      opts.Logger,
		now:      opts.Now,
		ttl:      positive(opts.TTL, DefaultTTL),
		negTTL:   positive(opts.NegativeTTL, DefaultNegativeTTL),
		grace:    positive(opts.StaleGrace, DefaultStaleGrace),
		timeout:  positive(opts.Timeout, DefaultTimeout),
		interval: positive(opts.Interval, DefaultInterval),
		maxKeys:  opts.MaxKeys,
		applied:  opts.applied,
		wake:     make(chan struct{}, 1),
		watched:  make(map[[sha256.Size]byte]*watch),
	}
	c.countCheck, c.countStale = opts.CountCheck, opts.CountStaleServe
	if opts.StaleGrace < 0 {
		c.grace = 0
	}
	refreshAt := opts.RefreshAt
	if refreshAt <= 0 || refreshAt > 1 {
		refreshAt = DefaultRefreshAt
	}
	c.refreshAfter = time.Duration(float64(c.ttl) * refreshAt)
	if opts.Interval <= 0 {
		// A short TTL needs the loop to look more often than once a
		// second, or a watched verdict could expire between two looks.
		c.interval = min(DefaultInterval, max((c.ttl-c.refreshAfter)/2, 10*time.Millisecond))
	}
	if c.maxKeys <= 0 {
		c.maxKeys = DefaultMaxKeys
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.client == nil {
		c.client = &http.Client{
			Timeout: c.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	// No janitor goroutine of go-cache's own: it would outlive Close until
	// a garbage collection; the loop sweeps expired items instead.
	c.items = gocache.New(gocache.NoExpiration, 0)
	c.base, c.cancel = context.WithCancel(context.Background())
	if u, err := url.Parse(c.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Every check will fail and every key stay Unknown: say why once.
		c.log.Error("service is not an http or https URL; no key can be verified",
			zap.String("service", redacted(opts.Service)))
	}
	c.wg.Add(1)
	go c.loop()
	return c
}

// redacted is s with any password in it masked, for logs.
func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

func positive(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Lookup returns the verdict for key. With a verdict cached it never waits
// on the network: it returns that verdict at once and, when the verdict is
// due for a refresh, starts one in the background. A cached verdict lives
// TTL+StaleGrace after the service's 200, NegativeTTL after the check that
// found a key Invalid or Unknown, and as long as the key is watched (the
// loop keeps it current). With none living it checks the key, one request
// however many callers ask at once, and waits at most Timeout, or until ctx
// is done (then the answer is Unknown and the check goes on for the
// others). A key that cannot be a key (empty, spaces, control bytes) is
// Invalid at once, without a request.
func (c *Cache) Lookup(ctx context.Context, key string) Verdict {
	v := c.lookup(ctx, key)
	if v.Stale && c.countStale != nil {
		c.countStale()
	}
	return v
}

func (c *Cache) lookup(ctx context.Context, key string) Verdict {
	if !wellFormed(key) {
		return Verdict{State: Invalid}
	}
	id := keyID(key)
	now := c.now()
	if e := c.load(&id); e != nil && c.usable(e, now) {
		if !now.Before(c.due(e)) {
			c.refresh(id, key)
		}
		return c.view(e, now)
	}
	return c.checkNow(ctx, id, key)
}

// Forget drops key: its verdict, its place in the watch list, and the
// result of any check of it still running. The next Lookup checks again.
func (c *Cache) Forget(key string) {
	id := keyID(key)
	c.mu.Lock()
	delete(c.watched, id)
	c.gen++
	c.items.Delete(string(id[:]))
	c.mu.Unlock()
	c.group.Forget(string(id[:]))
}

// Close stops the background loop, aborts the checks in flight and waits
// for them. Lookups after Close still answer from the cache but start no
// check. Close may be called more than once.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// enter counts one more piece of background work, unless the cache is
// closed; the caller calls c.wg.Done when that work ends.
func (c *Cache) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// wellFormed rules out keys that no service accepts and that a header
// cannot carry, so they cost no request and never reach a log or an error.
func wellFormed(key string) bool {
	if key == "" || len(key) > 4096 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] >= 0x7f {
			return false
		}
	}
	return true
}

// keyID is the SHA-256 of key: what the cache holds a key by.
func keyID(key string) [sha256.Size]byte {
	// Hashing from a stack copy: []byte(key) would put every key longer
	// than 32 bytes on the heap, once per Lookup.
	var buf [128]byte
	return sha256.Sum256(append(buf[:0], key...))
}

// fingerprint names a key in logs without revealing it.
func fingerprint(id *[sha256.Size]byte) string {
	return hex.EncodeToString(id[:4])
}
