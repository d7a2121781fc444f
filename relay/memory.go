// Package relay is the Outstatic service side of caddy-outstatic: what the
// site's OUTSTATIC_API_URL points at. It does not import Caddy.
package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"
)

// CallbackMemory remembers at which public callback URL an exchange token
// reached the site. The stock site redeems a token with the callback it
// believes it has (its listen address, e.g. http://localhost:3000/...),
// which is not the callback the token was issued for; the guard saw the
// real one, and the relay reads it here.
type CallbackMemory interface {
	// Remember records that token arrived at callbackURL. It returns false
	// when the token was seen before: a token is good for one login, so a
	// second arrival is a replay.
	Remember(token, callbackURL string) bool
	// Take returns the callback recorded for token and forgets it.
	Take(token string) (string, bool)
}

// MemoryCallbacks is a CallbackMemory in process memory, for a guard and a
// relay in one Caddy. Tokens are kept as hashes; entries expire after ttl.
type MemoryCallbacks struct {
	mu sync.Mutex
	c  *cache.Cache
}

// NewMemoryCallbacks returns an empty memory whose entries live for ttl.
func NewMemoryCallbacks(ttl time.Duration) *MemoryCallbacks {
	return &MemoryCallbacks{c: cache.New(ttl, ttl)}
}

// record is what the memory keeps for a token. A taken record stays, as a
// marker that the token was seen, until it expires.
type record struct {
	callback string
	taken    bool
}

// Remember records that token arrived at callbackURL, once.
func (m *MemoryCallbacks) Remember(token, callbackURL string) bool {
	return m.c.Add(tokenKey(token), &record{callback: callbackURL}, cache.DefaultExpiration) == nil
}

// Take returns the callback recorded for token and marks it taken, so a
// recorded callback serves one redemption.
func (m *MemoryCallbacks) Take(token string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.c.Get(tokenKey(token))
	if !ok {
		return "", false
	}
	rec := v.(*record)
	if rec.taken {
		return "", false
	}
	rec.taken = true
	return rec.callback, true
}

// tokenKey hashes a token so that memory and stores never hold it.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
