// Package relay holds what the relay's two modes share: the memory of the
// public callback each exchange token arrived at (filled by the guard,
// read by both modes), the API key format, the parser's CORS, and the
// app's own addresses. The modes themselves are relay/forward (to the
// hosted service) and relay/native (the protocol answered here). None of
// them imports Caddy.
package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
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

// NoCallbacks is a CallbackMemory that knows nothing: every token is
// redeemed by its exact callback.
type NoCallbacks struct{}

// Remember records nothing.
func (NoCallbacks) Remember(string, string) bool { return true }

// Take finds nothing.
func (NoCallbacks) Take(string) (string, bool) { return "", false }

// BindingMemory remembers which login bindings have served a login. A
// binding (the guard's signed cookie) names one login; the cookie alone
// cannot be made single use, since a browser (or anyone who copied it) can
// send it again, so the guard records each one it accepts here.
type BindingMemory interface {
	// SpendBinding marks the binding id used until it expires. It returns
	// false when the id was used before.
	SpendBinding(id string, expires time.Time) bool
}

// DefaultMaxEntries bounds a MemoryCallbacks: every token that reaches a
// callback and every binding spent leaves an entry for minutes, and a
// client can make as many as it can send requests. An entry is a few
// hundred bytes, so the default stays under a few tens of megabytes.
const DefaultMaxEntries = 50_000

// MemoryCallbacks is a CallbackMemory and BindingMemory in process memory,
// for a guard and a relay in one Caddy. Tokens and binding ids are kept as
// hashes. Entries expire, and the memory holds at most a fixed number of
// them: past it, the oldest go first. Losing an entry early costs little:
// a token whose record is gone is redeemed only by an exact callback match
// (the service's own single use still holds), and a binding id that is
// gone belongs to a cookie the browser was already told to drop.
type MemoryCallbacks struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[memKey]*memEntry
	// order holds every key of entries once, oldest first, from head on;
	// a key leaves both together.
	order []memKey
	head  int
}

type memKey [sha256.Size]byte

// memEntry is what the memory keeps for a token or a binding. A taken
// token record stays, as a marker that the token was seen, until it
// expires.
type memEntry struct {
	callback string
	taken    bool
	expires  time.Time
}

// NewMemoryCallbacks returns an empty memory whose token records live for
// ttl, holding at most DefaultMaxEntries entries.
func NewMemoryCallbacks(ttl time.Duration) *MemoryCallbacks {
	return NewMemoryCallbacksMax(ttl, DefaultMaxEntries)
}

// NewMemoryCallbacksMax is NewMemoryCallbacks holding at most max entries
// (at least 1).
func NewMemoryCallbacksMax(ttl time.Duration, max int) *MemoryCallbacks {
	return newMemoryCallbacks(ttl, max, time.Now)
}

func newMemoryCallbacks(ttl time.Duration, max int, now func() time.Time) *MemoryCallbacks {
	if max < 1 {
		max = 1
	}
	return &MemoryCallbacks{ttl: ttl, max: max, now: now, entries: map[memKey]*memEntry{}}
}

// Len reports how many entries the memory holds, expired ones included
// until they are dropped.
func (m *MemoryCallbacks) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Remember records that token arrived at callbackURL, once.
func (m *MemoryCallbacks) Remember(token, callbackURL string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	return m.addLocked(memHash("t", token), &memEntry{callback: callbackURL, expires: now.Add(m.ttl)}, now)
}

// Take returns the callback recorded for token and marks it taken, so a
// recorded callback serves one redemption.
func (m *MemoryCallbacks) Take(token string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[memHash("t", token)]
	if !ok || !m.now().Before(e.expires) || e.taken {
		return "", false
	}
	e.taken = true
	return e.callback, true
}

// SpendBinding marks the binding id used until expires, once.
func (m *MemoryCallbacks) SpendBinding(id string, expires time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !now.Before(expires) {
		return false
	}
	return m.addLocked(memHash("b", id), &memEntry{expires: expires}, now)
}

// addLocked adds e under k unless a live entry is there. An expired entry
// is replaced in place, keeping its place in the order.
func (m *MemoryCallbacks) addLocked(k memKey, e *memEntry, now time.Time) bool {
	if old, ok := m.entries[k]; ok {
		if now.Before(old.expires) {
			return false
		}
		*old = *e
		return true
	}
	m.dropLocked(now)
	m.entries[k] = e
	m.order = append(m.order, k)
	return true
}

// dropLocked makes room for one entry: it drops expired entries from the
// old end, then the oldest while the memory is full, and compacts the
// order now and then so that it does not grow without bound.
func (m *MemoryCallbacks) dropLocked(now time.Time) {
	for m.head < len(m.order) {
		k := m.order[m.head]
		e := m.entries[k]
		if len(m.entries) < m.max && now.Before(e.expires) {
			break
		}
		delete(m.entries, k)
		m.order[m.head] = memKey{}
		m.head++
	}
	if m.head > 1024 && m.head*2 > len(m.order) {
		m.order = append([]memKey(nil), m.order[m.head:]...)
		m.head = 0
	}
}

// memHash keys an entry by kind and value, so that a token and a binding
// id never meet and the memory never holds either.
func memHash(kind, value string) memKey {
	return sha256.Sum256([]byte(kind + "\x00" + value))
}

// TokenKey hashes a token so that stores never hold it.
func TokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
