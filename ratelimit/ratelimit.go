// Package ratelimit keeps one token bucket per key (an e-mail address, a
// client IP) in bounded memory.
//
// The relay limits magic-link requests and login starts per address and per
// client IP, so a visitor cannot flood someone's inbox or mint login state
// without end. Keys are attacker-chosen, so the table must not grow with
// them: a key whose bucket has refilled is forgotten (losslessly: a new
// bucket starts full too), and past MaxKeys the least recently used key is
// dropped. The buckets are golang.org/x/time/rate limiters driven by an
// injectable clock, so tests need not sleep.
//
// With two limits on one request, check the one the client controls least
// first (the IP, then the address): a request refused there spends nothing
// of the other, so one client cannot use up someone else's address.
package ratelimit

import (
	"container/list"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the table when Config.MaxKeys is zero.
const DefaultMaxKeys = 10000

// Config describes one limit.
type Config struct {
	// Every is the time one token takes to come back: a steady rate of one
	// event per Every.
	Every time.Duration
	// Burst is how many events may happen at once after a quiet period.
	Burst int
	// MaxKeys bounds how many keys are remembered; DefaultMaxKeys if zero.
	// Past it the least recently used key is forgotten, which gives that
	// key a full bucket again: the price of bounded memory.
	MaxKeys int
	// Now is the clock; time.Now if nil. Tests pass a fake.
	Now func() time.Time
}

// Limiter is a set of token buckets, one per key. It is safe for concurrent
// use.
type Limiter struct {
	every   time.Duration
	burst   int
	maxKeys int
	now     func() time.Time
	// idle is how long a bucket takes to refill completely; after that its
	// key carries no state worth keeping.
	idle time.Duration

	mu        sync.Mutex
	keys      map[string]*list.Element
	lru       *list.List // front: most recently used
	lastSweep time.Time
}

type entry struct {
	key      string
	lim      *rate.Limiter
	lastSeen time.Time
}

// New returns a Limiter for cfg.
func New(cfg Config) (*Limiter, error) {
	if cfg.Every <= 0 {
		return nil, errors.New("ratelimit: every must be positive")
	}
	if cfg.Burst < 1 {
		return nil, errors.New("ratelimit: burst must be at least 1")
	}
	if cfg.MaxKeys < 0 {
		return nil, errors.New("ratelimit: max keys must not be negative")
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		every:   cfg.Every,
		burst:   cfg.Burst,
		maxKeys: cfg.MaxKeys,
		now:     cfg.Now,
		idle:    cfg.Every * time.Duration(cfg.Burst),
		keys:    make(map[string]*list.Element),
		lru:     list.New(),
	}, nil
}

// Allow spends one token of key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.entry(key, now)
	e.lastSeen = now
	return e.lim.AllowN(now, 1)
}

// RetryAfter says how long until key has a token again (zero if it has one
// now), for a Retry-After header. It spends nothing.
func (l *Limiter) RetryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.keys[key]
	if !ok {
		return 0
	}
	now := l.now()
	tokens := el.Value.(*entry).lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.every))
}

// Len is how many keys are remembered now.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func (l *Limiter) entry(key string, now time.Time) *entry {
	if el, ok := l.keys[key]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	for len(l.keys) >= l.maxKeys {
		l.remove(l.lru.Back())
	}
	e := &entry{key: key, lim: rate.NewLimiter(rate.Every(l.every), l.burst), lastSeen: now}
	l.keys[key] = l.lru.PushFront(e)
	return e
}

// sweep forgets keys idle long enough to have refilled. It runs at most
// once per idle period, and walks from the least recently used end, so each
// run costs only the keys it removes plus one.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*entry).lastSeen) < l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.keys, el.Value.(*entry).key)
	l.lru.Remove(el)
}
