package roster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// readCounter counts a store's reads.
type readCounter struct {
	store.Store
	gets atomic.Int64
}

func (c *readCounter) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// countingEnv is newRosterEnv on the store kind's store, counted.
func countingEnv(t *testing.T, edit func(*Config)) (*rosterEnv, *readCounter) {
	return wrappedEnv(t, edit, func(st store.Store) *readCounter { return &readCounter{Store: st} })
}

// wrappedEnv is newRosterEnv on the store kind's store (edit may be nil),
// which both instances reach through one wrap of it.
func wrappedEnv[S store.Store](t *testing.T, edit func(*Config), wrap func(store.Store) S) (*rosterEnv, S) {
	var wrapped S
	var done bool
	env := newRosterEnv(t, func(c *Config) {
		if edit != nil {
			edit(c)
		}
		if !done {
			wrapped, done = wrap(c.Store), true
		}
		c.Store = wrapped
	})
	return env, wrapped
}

// putKey stores key (made by relay.NewKey) as project's key through the
// roster's own key change, as CreateKey does with a key it makes: a key
// the test knows before any instance stores it.
func putKey(t *testing.T, r *Roster, project, key, hash, prefix string) {
	t.Helper()
	rec := keyRecord{Hash: hash, Prefix: prefix, Created: r.now().UTC(), Gen: newGeneration()}
	err := r.changeKey(context.Background(), project, func(keyRecord, bool) (keyRecord, error) {
		return rec, r.st.Put(context.Background(), keyHashName(hash), []byte(`"`+project+`"`), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.ProjectForKey(context.Background(), key); err != nil || p.Slug != project {
		t.Fatalf("the stored key on the instance that stored it: %v %v", p, err)
	}
}

// TestUnknownKeyMemoryAcrossInstances: a key refused as unknown is
// remembered (checked again, it costs no store read) until a key changes
// on any instance: stored on the other instance, it is accepted once this
// one has read the key epoch again (within KeyRecheck on the relays'
// clock), and rotated or revoked there it is refused; the memory never
// answers a replaced key as valid, on the file store and on Redis.
func TestUnknownKeyMemoryAcrossInstances(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		env, counter := countingEnv(t, edit)
		ctx := context.Background()
		a, b := env.rosters[0], env.rosters[1]
		key, hash, prefix, _ := relay.NewKey()
		for i := range 3 {
			if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
				t.Fatalf("check %d of a key no instance stored: %v", i, err)
			}
		}
		before := counter.gets.Load()
		if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatal(err)
		}
		if reads := counter.gets.Load() - before; reads != 0 {
			t.Fatalf("an unknown key checked again cost %d store reads, want 0", reads)
		}

		// Stored on b: a takes it once it reads the epoch again.
		putKey(t, b, "blog", key, hash, prefix)
		env.advance(time.Second)
		if p, err := a.ProjectForKey(ctx, key); err != nil || p.Slug != "blog" {
			t.Fatalf("a key stored on the other instance, after KeyRecheck: %v %v", p, err)
		}

		// Rotated on b: refused on b at once, on a after KeyRecheck,
		// and never accepted again whatever a remembered.
		rotated, _, err := b.CreateKey(ctx, "blog", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatalf("the rotated key on the instance that rotated it: %v", err)
		}
		env.advance(time.Second)
		for i := range 3 {
			if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
				t.Fatalf("check %d of the rotated key on the other instance: %v", i, err)
			}
			if p, err := a.ProjectForKey(ctx, rotated); err != nil || p.Slug != "blog" {
				t.Fatalf("the new key on the other instance: %v %v", p, err)
			}
		}

		// Revoked on a, which holds it in memory; b remembers it too.
		if _, err := b.ProjectForKey(ctx, rotated); err != nil {
			t.Fatal(err)
		}
		if err := a.RevokeKey(ctx, "blog"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ProjectForKey(ctx, rotated); err != relay.ErrMalformedKey {
			t.Fatalf("the revoked key on the instance that revoked it: %v", err)
		}
		env.advance(time.Second)
		if _, err := b.ProjectForKey(ctx, rotated); err != relay.ErrMalformedKey {
			t.Fatalf("the revoked key on the other instance: %v", err)
		}
	})
}

// TestUnknownKeyMemoryIsBounded: a flood of 100,000 distinct made-up keys
// leaves at most MaxUnknownKeys in memory, each refused, and the project's
// key still answered from memory.
func TestUnknownKeyMemoryIsBounded(t *testing.T) {
	env, counter := countingEnv(t, nil)
	ctx := context.Background()
	r := env.rosters[0]
	if _, err := r.ProjectForKey(ctx, env.key); err != nil {
		t.Fatal(err)
	}
	for i := range 100_000 {
		key, _, _, _ := relay.NewKey()
		if _, err := r.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatalf("made-up key %d: %v", i, err)
		}
	}
	r.keys.mu.RLock()
	remembered := len(r.keys.unknown)
	r.keys.mu.RUnlock()
	if remembered == 0 || remembered > MaxUnknownKeys {
		t.Fatalf("%d unknown keys remembered after a flood of 100,000, want 1 to %d", remembered, MaxUnknownKeys)
	}
	before := counter.gets.Load()
	if p, err := r.ProjectForKey(ctx, env.key); err != nil || p.Slug != "blog" {
		t.Fatalf("the stored key after the flood: %v %v", p, err)
	}
	if reads := counter.gets.Load() - before; reads != 0 {
		t.Fatalf("the stored key after the flood cost %d store reads, want 0", reads)
	}
}

// advance moves the rosters' clock.
func (e *rosterEnv) advance(d time.Duration) { e.now.Add(int64(d)) }
