package verdict

import (
	"crypto/sha256"
	"errors"
	"syscall"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"go.uber.org/zap"
)

// Backoff between retries while a Valid verdict is served and the service
// fails: short at first, so a blip ends quickly, then capped, so a long
// outage costs one request a minute.
const (
	backoffMin = time.Second
	backoffMax = time.Minute
)

// entry is what the cache holds for one key. An entry is never modified
// once stored: a new check stores a new one, so readers need no lock.
type entry struct {
	v        Verdict   // the verdict as stored; Stale is set by view
	tried    time.Time // when the last check ended, definitive or not
	failures int       // checks failed in a row since the last definitive one
	watched  bool      // kept until the last Unwatch or Forget, refreshed by the loop
	seq      uint64    // the order in which the check that stored it began
}

// load returns the entry for id, or nil.
func (c *Cache) load(id *[sha256.Size]byte) *entry {
	// string(id[:]) does not escape, so the hot path does not allocate.
	x, ok := c.items.Get(string(id[:]))
	if !ok {
		return nil
	}
	e, _ := x.(*entry)
	return e
}

// usable reports whether e may be answered without a check. A watched key's
// entry always may: the loop keeps it current, and a request must not wait
// for a check the loop is already making.
func (c *Cache) usable(e *entry, now time.Time) bool {
	return e.watched || now.Before(c.expiry(e))
}

// expiry is when an entry nobody watches stops being answered.
func (c *Cache) expiry(e *entry) time.Time {
	if e.v.State == Valid {
		return e.v.CheckedAt.Add(c.ttl + c.grace)
	}
	return e.tried.Add(c.negTTL)
}

// due is when e should be checked again in the background.
func (c *Cache) due(e *entry) time.Time {
	switch {
	case e.v.State == Invalid:
		return e.tried.Add(c.negTTL)
	case e.v.State == Unknown:
		// A failure is no answer: retry soon, on the backoff, so that a
		// service that was not up yet (one in the same Caddy, whose
		// listeners open after the first check) is found within seconds.
		return e.tried.Add(min(backoff(e.failures), c.negTTL))
	case e.failures == 0:
		return e.v.CheckedAt.Add(c.refreshAfter)
	default:
		return e.tried.Add(backoff(e.failures))
	}
}

// backoff is the wait before retry number n+1 after n failures in a row.
func backoff(n int) time.Duration {
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// view is the verdict e stands for at now: a Valid one past its TTL is
// Stale, and past its grace it is no longer Valid at all.
func (c *Cache) view(e *entry, now time.Time) Verdict {
	v := e.v
	if v.State != Valid {
		return v
	}
	age := now.Sub(v.CheckedAt)
	if age >= c.ttl+c.grace {
		return Verdict{State: Unknown, CheckedAt: v.CheckedAt}
	}
	v.Stale = age >= c.ttl
	return v
}

// current is what to answer for id without a check: its usable verdict,
// else Unknown.
func (c *Cache) current(id *[sha256.Size]byte) Verdict {
	now := c.now()
	if e := c.load(id); e != nil && c.usable(e, now) {
		return c.view(e, now)
	}
	return Verdict{State: Unknown}
}

// next is the entry that follows old after a check that gave r.
func (c *Cache) next(old *entry, r result, now time.Time) *entry {
	switch r.state {
	case Valid:
		return &entry{v: Verdict{State: Valid, Project: r.project, Body: r.body, CheckedAt: now}, tried: now}
	case Invalid:
		// Definite: replaces a Valid verdict at once, whatever its age.
		return &entry{v: Verdict{State: Invalid, CheckedAt: now}, tried: now}
	}
	if old == nil {
		return &entry{v: Verdict{State: Unknown}, tried: now, failures: 1}
	}
	// A failure says nothing new about the key: keep what is known (a
	// Valid verdict within its grace, or an Invalid one) and count it.
	e := &entry{v: old.v, tried: now, failures: old.failures + 1}
	if old.v.State == Valid && !now.Before(old.v.CheckedAt.Add(c.ttl+c.grace)) {
		e.v = Verdict{State: Unknown, CheckedAt: old.v.CheckedAt}
	}
	return e
}

// record stores what a check of id gave, unless the cache closed or the key
// was forgotten since the check began (gen), and returns the verdict. seq
// is when the check began: a check begun after it that is stored already
// (Answers runs beside a refresh or a cold lookup) is the newer word of the
// service, so this one is not stored and its caller gets that word. A 200
// sent before a revocation must not replace the 401 sent after it.
func (c *Cache) record(id *[sha256.Size]byte, gen, seq uint64, r result) Verdict {
	c.mu.Lock()
	now := c.now()
	old := c.load(id)
	if old != nil && old.seq > seq {
		c.mu.Unlock()
		if c.countCheck != nil {
			c.countCheck(checkResult(r, c.view(old, now)))
		}
		return c.view(old, now)
	}
	e := c.next(old, r, now)
	e.seq = seq
	_, e.watched = c.watched[*id]
	if !c.closed && c.gen == gen {
		c.store(id, e, now)
	}
	c.mu.Unlock()

	v := c.view(e, now)
	c.report(id, old, e, r, v)
	if c.countCheck != nil {
		c.countCheck(checkResult(r, v))
	}
	return v
}

// Results of a check, for Options.CountCheck.
const (
	CheckOK      = "ok"
	CheckInvalid = "invalid"
	CheckError   = "error"
	CheckStale   = "stale"
)

// checkResult names what a check gave and what it left served.
func checkResult(r result, v Verdict) string {
	switch {
	case r.state == Valid:
		return CheckOK
	case r.state == Invalid:
		return CheckInvalid
	case v.Stale:
		return CheckStale
	}
	return CheckError
}

// store keeps e for id; c.mu is held.
func (c *Cache) store(id *[sha256.Size]byte, e *entry, now time.Time) {
	k := string(id[:])
	d := gocache.NoExpiration
	if !e.watched {
		d = c.expiry(e).Sub(now)
		if d <= 0 {
			c.items.Delete(k)
			return
		}
		if c.items.ItemCount() >= c.maxKeys {
			if _, ok := c.items.Get(k); !ok {
				return
			}
		}
	}
	c.items.Set(k, e, d)
}

// report logs what changed. A key appears only as its fingerprint.
func (c *Cache) report(id *[sha256.Size]byte, old, e *entry, r result, v Verdict) {
	fp := zap.String("key", fingerprint(id))
	was := Unknown
	if old != nil {
		was = old.v.State
	}
	switch {
	case r.state == Valid && (was != Valid || old.failures > 0):
		c.log.Info("api key verified",
			fp, zap.String("project", r.project.ProjectSlug), zap.Bool("pro", r.project.IsPro),
			zap.Bool("answers_callback_origins", r.project.HasCallbackOrigins))
	case r.state == Invalid && was != Invalid:
		c.log.Warn("api key rejected by the service",
			fp, zap.Int("status", r.status), zap.Stringer("was", was))
	case r.state == Unknown && e.failures == 1 && old == nil && errors.Is(r.err, syscall.ECONNREFUSED):
		// The key's first check, refused at the dial: at start, a relay in
		// this Caddy whose listener is not open yet. The retry, on the
		// backoff, reports it if it lasts.
		if ce := c.log.Check(zap.DebugLevel, "api key check refused before the service listened; retrying"); ce != nil {
			ce.Write(fp, zap.Error(r.err))
		}
	case r.state == Unknown && (e.failures == 1 || v.State != was || e.failures == 2 && errors.Is(r.err, syscall.ECONNREFUSED)):
		c.log.Warn("api key check failed",
			fp, zap.Int("status", r.status), zap.Error(r.err),
			zap.Stringer("serving", v.State), zap.Bool("stale", v.Stale),
			zap.Int("failures", e.failures))
	default:
		if ce := c.log.Check(zap.DebugLevel, "api key checked"); ce != nil {
			ce.Write(fp, zap.Stringer("state", r.state), zap.Int("status", r.status),
				zap.Error(r.err), zap.Int("failures", e.failures))
		}
	}
}
