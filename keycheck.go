package outstatic

import (
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/verdict"

	"github.com/caddyserver/caddy/v2"
)

// KeyCheck holds the settings of the key verdict cache, the same for the
// guard and the relay: a guard and a relay with the same service and the
// same settings share one cache.
type KeyCheck struct {
	// CacheTTL is how long a key verdict is fresh; it is refreshed in the
	// background before it runs out. Default: 5m.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`

	// NegativeTTL is how long a refused or failed check is kept before the
	// key is checked again. Default: 30s.
	NegativeTTL caddy.Duration `json:"negative_ttl,omitempty"`

	// StaleGrace is how long past CacheTTL a good verdict keeps being
	// served while the service is down or failing (network errors, 5xx).
	// A definite 401 ends it at once. Default: 24h.
	StaleGrace caddy.Duration `json:"stale_grace,omitempty"`

	// CheckTimeout bounds each key check. Default: 5s.
	CheckTimeout caddy.Duration `json:"check_timeout,omitempty"`
}

// cacheSettings are KeyCheck with the defaults applied: verdict's, so
// that a guard and a relay that state a default and one that omits it
// share a cache.
type cacheSettings struct {
	TTL, NegativeTTL, StaleGrace, Timeout time.Duration
}

func (k KeyCheck) settings() cacheSettings {
	return cacheSettings{
		TTL:         durationOr(k.CacheTTL, verdict.DefaultTTL),
		NegativeTTL: durationOr(k.NegativeTTL, verdict.DefaultNegativeTTL),
		StaleGrace:  durationOr(k.StaleGrace, verdict.DefaultStaleGrace),
		Timeout:     durationOr(k.CheckTimeout, verdict.DefaultTimeout),
	}
}

// durationOr is d, or def when d is not set.
func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}
