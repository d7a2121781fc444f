// Process-wide state shared by the guards and relays of this Caddy, and
// kept across config reloads where that is the point: the key verdict
// caches, the in-process memory of exchange tokens' callbacks and spent
// bindings, the registry of native relays the admin API manages, and the
// opening and sweeping of the shared stores.

package outstatic

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"

	"github.com/caddyserver/caddy/v2"
)

// verdictCaches holds one verdict cache per service and cache settings,
// shared by every guard and relay of the process that use the same ones,
// and kept across config reloads: a reload does not throw away verdicts,
// and a guard and a relay in one Caddy ask the service once.
var verdictCaches = caddy.NewUsagePool()

type pooledVerdicts struct{ *verdict.Cache }

func (p pooledVerdicts) Destruct() error {
	p.Close()
	return nil
}

// loadVerdicts returns the shared cache for service and the key under which
// it was loaded, to be released with verdictCaches.Delete in Cleanup.
func loadVerdicts(service string, s cacheSettings, logger *zap.Logger) (*verdict.Cache, string, error) {
	poolKey := fmt.Sprintf("%s|%s|%s|%s|%s", service, s.TTL, s.NegativeTTL, s.StaleGrace, s.Timeout)
	v, _, err := verdictCaches.LoadOrNew(poolKey, func() (caddy.Destructor, error) {
		return pooledVerdicts{verdict.New(verdict.Options{
			Service:     service,
			TTL:         s.TTL,
			NegativeTTL: s.NegativeTTL,
			StaleGrace:  s.StaleGrace,
			Timeout:     s.Timeout,
			Logger:      logger.Named("verdict"),
			// pooled across reloads: counts on the newest config's collectors
			CountCheck:      countKeyCheck,
			CountStaleServe: countStaleServe,
		})}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(pooledVerdicts).Cache, poolKey, nil
}

// tokenCallbacks is where a guard records the public callback an exchange
// token arrived at, for a relay in the same process to redeem it with, and
// the login bindings it has accepted. Bounded (relay.DefaultMaxEntries).
var tokenCallbacks = relay.NewMemoryCallbacks(5 * time.Minute)

// storeSweepInterval is how often a guard or native relay sweeps expired
// entries out of a store that does not expire them itself.
var storeSweepInterval = 5 * time.Minute

// guardMemory opens where a guard records tokens and spent bindings: the
// shared store when one is configured, else this process's memory. Every
// record in a store expires, and a guard sweeps a file store itself rather
// than count on a native relay in the same Caddy to do it: a guard may run
// alone, or beside a forward relay, and each token reaching a callback
// leaves files behind.
func guardMemory(ctx caddy.Context, shared *SharedStore, logger *zap.Logger) (relay.CallbackMemory, relay.BindingMemory, func() error, error) {
	if shared == nil {
		return tokenCallbacks, tokenCallbacks, func() error { return nil }, nil
	}
	st, closer, err := openStore(ctx, shared.Redis, caddy.NewReplacer())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("token_store: %w", err)
	}
	if sw, ok := st.(store.Sweeper); ok {
		go sweep(ctx, sw, logger)
	}
	sc := relay.StoreCallbacks{Store: st, TTL: 5 * time.Minute, Logger: logger}
	return sc, sc, closer, nil
}

// nativeRelays are the native relays of this process, for the admin API,
// in the order they were provisioned. The newest one that serves a
// project wins, so that during a config reload the new config is the one
// being managed.
var nativeRelays = struct {
	sync.Mutex
	list []*native.Native
}{}

func registerNative(n *native.Native) {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	nativeRelays.list = append(nativeRelays.list, n)
}

func unregisterNative(n *native.Native) {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	nativeRelays.list = slices.DeleteFunc(nativeRelays.list, func(x *native.Native) bool { return x == n })
}

// natives are the native relays, newest first.
func natives() []*native.Native {
	nativeRelays.Lock()
	defer nativeRelays.Unlock()
	out := slices.Clone(nativeRelays.list)
	slices.Reverse(out)
	return out
}

// nativeFor returns the newest relay serving slug (in its configuration
// or its store), or nil.
func nativeFor(ctx context.Context, slug string) (*native.Native, error) {
	for _, n := range natives() {
		p, err := n.Roster().Project(ctx, slug)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return n, nil
		}
	}
	return nil, nil
}

// eachProject calls f with every project slug the native relays serve,
// once, with the newest relay that serves it, in order of slug per relay.
func eachProject(ctx context.Context, f func(n *native.Native, slug string) error) error {
	seen := map[string]bool{}
	for _, n := range natives() {
		slugs, err := n.Roster().ProjectSlugs(ctx)
		if err != nil {
			return err
		}
		for _, slug := range slugs {
			if seen[slug] {
				continue
			}
			seen[slug] = true
			if err := f(n, slug); err != nil {
				return err
			}
		}
	}
	return nil
}

// SharedStore says where state shared by several Caddy instances lives.
type SharedStore struct {
	// Redis, when set; otherwise Caddy's configured storage.
	Redis *RelayRedis `json:"redis,omitempty"`
}

// callbackMemory is where exchange tokens' callbacks are recorded: in a
// shared store when one is configured, else in process memory, shared by
// the guards and relays of this Caddy.
func callbackMemory(ctx caddy.Context, shared *SharedStore, logger *zap.Logger) (relay.CallbackMemory, func() error, error) {
	if shared == nil {
		return tokenCallbacks, func() error { return nil }, nil
	}
	st, closer, err := openStore(ctx, shared.Redis, caddy.NewReplacer())
	if err != nil {
		return nil, nil, fmt.Errorf("token_store: %w", err)
	}
	return relay.StoreCallbacks{Store: st, TTL: 5 * time.Minute, Logger: logger}, closer, nil
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
