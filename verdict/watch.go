package verdict

import (
	gocache "github.com/patrickmn/go-cache"
	"go.uber.org/zap"
)

// The watch list: configured keys the loop keeps current (loop is in
// flight.go), counted by the modules that configured them.

// watch is a watched key and how many Watch calls have no Unwatch yet.
type watch struct {
	key  string
	refs int
}

// Watch registers a configured key: the background loop checks it now and
// then refreshes it before its TTL runs out, so traffic never meets an
// expired verdict, and its verdict is kept until as many calls of Unwatch
// (each module that configured it lets go), or Forget.
func (c *Cache) Watch(key string) {
	if !wellFormed(key) {
		return
	}
	id := keyID(key)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if w := c.watched[id]; w != nil {
		w.refs++
	} else {
		c.watched[id] = &watch{key: key, refs: 1}
	}
	if e := c.load(&id); e != nil && !e.watched {
		w := *e
		w.watched = true
		c.items.Set(string(id[:]), &w, gocache.NoExpiration)
	}
	c.mu.Unlock()
	c.poke()
	c.log.Debug("watching api key", zap.String("key", fingerprint(&id)))
}

// Unwatch undoes one Watch of key. When no Watch is left, the loop stops
// checking it and its verdict lives on as an unwatched key's does: a
// cache shared across a reload stops checking a key the new configuration
// dropped, while a key two modules watch stays watched until both let go.
func (c *Cache) Unwatch(key string) {
	id := keyID(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.watched[id]
	if w == nil {
		return
	}
	if w.refs--; w.refs > 0 {
		return
	}
	delete(c.watched, id)
	if e := c.load(&id); e != nil && e.watched {
		u := *e
		u.watched = false
		c.store(&id, &u, c.now())
	}
	c.log.Debug("no longer watching api key", zap.String("key", fingerprint(&id)))
}

// Watching reports whether the loop keeps key's verdict current: whether
// a Watch of it has no Unwatch yet.
func (c *Cache) Watching(key string) bool {
	id := keyID(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watched[id] != nil
}
