package verdict

import (
	"context"
	"crypto/sha256"
	"time"
)

// checkNow checks a key nothing usable is cached for, joining a check of
// the same key already running. The check does not run under ctx: others
// may be waiting on it, so a caller that gives up leaves it running
// (bounded by Timeout) and gets Unknown.
func (c *Cache) checkNow(ctx context.Context, id [sha256.Size]byte, key string) Verdict {
	if ctx.Err() != nil {
		return Verdict{State: Unknown}
	}
	ch := c.group.DoChan(string(id[:]), func() (any, error) {
		v, checked := c.flight(&id, key, true)
		if checked && c.applied != nil {
			c.applied(v)
		}
		return v, nil
	})
	select {
	case r := <-ch:
		v, _ := r.Val.(Verdict)
		return v
	case <-ctx.Done():
		return Verdict{State: Unknown}
	}
}

// refresh starts a background check of a key whose verdict is due, unless
// one is running already. The hot path calls it whenever a verdict is due,
// so while a refresh runs (up to Timeout) each call costs one map read and
// starts nothing.
func (c *Cache) refresh(id [sha256.Size]byte, key string) {
	if _, running := c.flights.LoadOrStore(id, struct{}{}); running {
		return
	}
	if !c.enter() {
		c.flights.Delete(id)
		return
	}
	go func() {
		defer c.wg.Done()
		var v Verdict
		checked := false
		c.group.Do(string(id[:]), func() (any, error) {
			v, checked = c.flight(&id, key, false)
			return v, nil
		})
		c.flights.Delete(id)
		// After the Delete, so a test that saw this refresh end can
		// count on the next due Lookup starting another.
		if checked && c.applied != nil {
			c.applied(v)
		}
	}()
}

// flight is one check of a key, shared by all who asked at once. cold says
// a caller is waiting for lack of a usable verdict; otherwise the check is
// a background refresh. Either way it first looks again: another check may
// have finished between the caller's look and this one, and then there is
// nothing to ask the service. checked reports whether the service was
// asked and answered.
func (c *Cache) flight(id *[sha256.Size]byte, key string, cold bool) (v Verdict, checked bool) {
	if !c.enter() {
		return c.current(id), false
	}
	defer c.wg.Done()

	now := c.now()
	if e := c.load(id); e != nil {
		if cold && c.usable(e, now) || !cold && now.Before(c.due(e)) {
			return c.view(e, now), false
		}
	}
	v, _, checked = c.ask(id, key)
	if !checked {
		// Closing: an aborted check says nothing about the key.
		return c.current(id), false
	}
	return v, true
}

// ask asks the service about key and records what it says, unless the
// cache closed meanwhile (asked is false, nothing recorded); r is what the
// check found. The caller holds c.enter.
func (c *Cache) ask(id *[sha256.Size]byte, key string) (v Verdict, r result, asked bool) {
	c.mu.Lock()
	gen := c.gen
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	r = c.fetch(key)
	if r.canceled {
		return Verdict{}, r, false
	}
	return c.record(id, gen, seq, r), r, true
}

// loop refreshes watched keys when they are due and sweeps out expired
// verdicts of keys nobody watches. It runs until Close.
func (c *Cache) loop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-c.base.Done():
			return
		case <-tick.C:
		case <-c.wake:
		}
		c.refreshDue()
		c.items.DeleteExpired()
	}
}

// poke wakes the loop without waiting for its next tick.
func (c *Cache) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// refreshDue starts a refresh of every watched key that is due, or has no
// verdict yet.
func (c *Cache) refreshDue() {
	type watchedKey struct {
		id  [sha256.Size]byte
		key string
	}
	now := c.now()
	var due []watchedKey
	c.mu.Lock()
	for id, w := range c.watched {
		if e := c.load(&id); e == nil || !now.Before(c.due(e)) {
			due = append(due, watchedKey{id, w.key})
		}
	}
	c.mu.Unlock()
	for _, w := range due {
		c.refresh(w.id, w.key)
	}
}

// Answers asks the service about key now, whatever verdict is cached (one
// request however many callers ask at once), records what it says, and
// reports whether the service answered (200, 401 or 403): false on a
// network error, a timeout or a 5xx, or when ctx ends first. A guard asks
// it when a failure it sees may be the service's outage rather than its
// refusal.
func (c *Cache) Answers(ctx context.Context, key string) bool {
	if !wellFormed(key) {
		return false
	}
	id := keyID(key)
	ch := c.group.DoChan("answers:"+string(id[:]), func() (any, error) {
		if !c.enter() {
			return false, nil
		}
		defer c.wg.Done()
		v, r, asked := c.ask(&id, key)
		if !asked {
			return false, nil
		}
		if c.applied != nil {
			c.applied(v)
		}
		return r.state != Unknown, nil
	})
	select {
	case res := <-ch:
		answered, _ := res.Val.(bool)
		return answered
	case <-ctx.Done():
		return false
	}
}
