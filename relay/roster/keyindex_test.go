package roster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// nameCounter counts a store's reads, by name, and its listings of the
// hash records.
type nameCounter struct {
	store.Store
	mu    sync.Mutex
	reads map[string]int // "keyepoch", "keyhash/", other names whole
	lists atomic.Int64   // of the hash records
}

func (c *nameCounter) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	if strings.HasPrefix(key, keyHashName("")) {
		c.reads[keyHashName("")]++
	} else {
		c.reads[key]++
	}
	c.mu.Unlock()
	return c.Store.Get(ctx, key)
}

func (c *nameCounter) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix == keyHashName("") {
		c.lists.Add(1)
	}
	return c.Store.List(ctx, prefix)
}

// count returns the reads of name since the last count, and forgets them.
func (c *nameCounter) count() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reads
	c.reads = map[string]int{}
	return out
}

// namedEnv is newRosterEnv on the store kind's store (edit may be nil),
// counted by name.
func namedEnv(t *testing.T, edit func(*Config)) (*rosterEnv, *nameCounter) {
	return wrappedEnv(t, edit, func(st store.Store) *nameCounter {
		return &nameCounter{Store: st, reads: map[string]int{}}
	})
}

// TestHashIndexRefusesUnknownKeysByTheEpoch: a key never seen before
// costs one read, of the key epoch, and no read of a hash record; a key
// made on the other instance counts here at once, with no wait for
// KeyRecheck, and the index is listed again once under the new epoch; a
// rotated key is refused and its successor accepted on both instances; on
// the file store and on Redis.
func TestHashIndexRefusesUnknownKeysByTheEpoch(t *testing.T) {
	storeKinds(t, testHashIndexRefusesUnknownKeysByTheEpoch)
}

func testHashIndexRefusesUnknownKeysByTheEpoch(t *testing.T, edit func(*Config)) {
	env, counter := namedEnv(t, edit)
	ctx := context.Background()
	a, b := env.rosters[0], env.rosters[1]
	unknown := func(r *Roster) {
		t.Helper()
		key, _, _, _ := relay.NewKey()
		if _, err := r.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatalf("a made-up key: %v", err)
		}
	}
	for range 2 { // writes any missing hash record, then lists them
		unknown(a)
		unknown(b)
	}
	counter.count()
	lists := counter.lists.Load()
	for range 20 {
		unknown(a)
		unknown(b)
	}
	if got := counter.count(); got[keyEpochName] != 40 || len(got) != 1 {
		t.Fatalf("reads for 40 made-up keys: %v, want 40 of %s and nothing else", got, keyEpochName)
	}
	if n := counter.lists.Load() - lists; n != 0 {
		t.Fatalf("%d listings with no key changed, want 0", n)
	}

	// Made on b, good on a at once (no clock advance).
	made, _, err := b.CreateKey(ctx, "blog", true)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := a.ProjectForKey(ctx, made); err != nil || p.Slug != "blog" {
		t.Fatalf("a key made on the other instance, at once: %v %v", p, err)
	}
	if _, err := a.ProjectForKey(ctx, env.key); err != relay.ErrMalformedKey {
		t.Fatalf("the key it replaced: %v", err)
	}
	for range 5 {
		unknown(a)
	}
	if n := counter.lists.Load() - lists; n != 1 {
		t.Fatalf("%d listings after one key change, want 1", n)
	}
	counter.count()
	unknown(a)
	if got := counter.count(); got[keyEpochName] != 1 || len(got) != 1 {
		t.Fatalf("reads for a made-up key after the new listing: %v", got)
	}
	// The other instance made it; a key made here counts there too.
	again, _, err := a.CreateKey(ctx, "blog", true)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b.ProjectForKey(ctx, again); err != nil || p.Slug != "blog" {
		t.Fatalf("a key made on the first instance, at once on the other: %v %v", p, err)
	}
	if _, err := b.ProjectForKey(ctx, made); err != relay.ErrMalformedKey {
		t.Fatalf("the rotated key on the instance that made it: %v", err)
	}
}

// TestHashIndexNeverMissesAKeyMadeBefore: while many made-up keys are
// refused on one instance at once, every key made on the other instance
// and returned before a check of it begins is accepted by that check; on
// the file store and on Redis.
func TestHashIndexNeverMissesAKeyMadeBefore(t *testing.T) {
	storeKinds(t, testHashIndexNeverMissesAKeyMadeBefore)
}

func testHashIndexNeverMissesAKeyMadeBefore(t *testing.T, edit func(*Config)) {
	env, _ := namedEnv(t, edit)
	ctx := context.Background()
	a, b := env.rosters[0], env.rosters[1]
	stop := make(chan struct{})
	var flood sync.WaitGroup
	for range 8 {
		flood.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				key, _, _, _ := relay.NewKey()
				if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
					t.Errorf("a made-up key: %v", err)
					return
				}
			}
		})
	}
	for i := range 30 {
		made, _, err := b.CreateKey(ctx, "blog", true)
		if err != nil {
			t.Fatal(err)
		}
		var checks sync.WaitGroup
		for range 4 {
			checks.Go(func() {
				if p, err := a.ProjectForKey(ctx, made); err != nil || p.Slug != "blog" {
					t.Errorf("key %d, made on the other instance before the check: %v %v", i, p, err)
				}
			})
		}
		checks.Wait()
	}
	close(stop)
	flood.Wait()
}

// TestHashIndexTooManyRecords: with more hash records than the index
// holds, an unknown key costs its hash record's read, and the listing is
// not repeated until a key changes (on Redis, where 100,000 records are
// quick to write).
func TestHashIndexTooManyRecords(t *testing.T) {
	srv := testredis.Start(t)
	st := store.NewRedis(testredis.Client(t, srv.Addr), "outstatic")
	env, counter := namedEnv(t, func(c *Config) { c.Store = st })
	ctx := context.Background()
	a := env.rosters[0]
	ops := make([]*store.Op, 0, maxIndexedHashes)
	for range maxIndexedHashes { // with blog's, one more than the index holds
		_, hash, _, _ := relay.NewKey()
		ops = append(ops, store.PutOp(keyHashName(hash), []byte(`"blog"`), 0))
	}
	env.st.Batch(ctx, ops...)
	for _, op := range ops {
		if op.Err != nil {
			t.Fatal(op.Err)
		}
	}
	for i := range 3 {
		key, _, _, _ := relay.NewKey()
		counter.count()
		if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatal(err)
		}
		if got := counter.count(); i > 0 && got[keyHashName("")] != 1 {
			t.Fatalf("reads for a made-up key with %d hash records: %v, want its hash record's", maxIndexedHashes+1, got)
		}
	}
	if n := counter.lists.Load(); n != 1 {
		t.Fatalf("%d listings, want 1", n)
	}
	if p, err := a.ProjectForKey(ctx, env.key); err != nil || p.Slug != "blog" {
		t.Fatalf("the stored key: %v %v", p, err)
	}
}

// TestFreshReadsBeginAfterTheCall: a caller never gets the result of a
// read that began before it called, and the callers that arrive during a
// read share the next one.
func TestFreshReadsBeginAfterTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f freshReads
		var n atomic.Int64
		release := make(chan struct{})
		read := func(context.Context) ([]byte, error) {
			i := n.Add(1)
			if i == 1 {
				<-release
			}
			return fmt.Appendf(nil, "read %d", i), nil
		}
		ctx := context.Background()
		first := make(chan string, 1)
		go func() {
			v, _ := f.do(ctx, read)
			first <- string(v)
		}()
		synctest.Wait() // read 1 under way
		later := make(chan string, 5)
		for range 5 {
			go func() {
				v, _ := f.do(ctx, read)
				later <- string(v)
			}()
		}
		synctest.Wait() // the five wait
		close(release)
		if v := <-first; v != "read 1" {
			t.Fatalf("the first caller got %q", v)
		}
		for range 5 {
			if v := <-later; v != "read 2" {
				t.Fatalf("a caller that arrived during read 1 got %q, want read 2", v)
			}
		}
		if total := n.Load(); total != 2 {
			t.Fatalf("%d reads for 6 callers, want 2", total)
		}
		if v, _ := f.do(ctx, read); string(v) != "read 3" {
			t.Fatalf("a call after the others got %q", v)
		}
	})
}

// TestHashIndexAnswersOnlyForItsEpoch: the index refuses a hash only under
// the epoch it was listed under, and only until it is maxEpochMemoryAge
// old; while one caller lists it again, the others get "may exist"; a
// failed listing leaves it unlisted.
func TestHashIndexAnswersOnlyForItsEpoch(t *testing.T) {
	var x hashIndex
	t0 := time.Unix(1_800_000_000, 0)
	if !x.mayExist("h2", "", t0) {
		t.Fatal("an index never listed refused a hash")
	}
	if !x.stale("E1", t0) || x.stale("E1", t0) {
		t.Fatal("an index never listed: want one lister")
	}
	x.built("E1", t0, nil, false) // failed
	if !x.mayExist("h2", "E1", t0) || !x.stale("E1", t0) {
		t.Fatal("after a failed listing: want no answer and a new lister")
	}
	x.built("E1", t0, map[string]struct{}{"h1": {}}, true)
	if x.mayExist("h2", "E1", t0) || !x.mayExist("h1", "E1", t0) {
		t.Fatal("under its epoch the index answers by its hashes")
	}
	if x.stale("E1", t0) {
		t.Fatal("an index listed under E1 is stale under E1")
	}
	if !x.mayExist("h2", "E2", t0) {
		t.Fatal("an index listed under E1 refused a hash under E2")
	}
	if !x.stale("E2", t0) {
		t.Fatal("an index listed under E1 is not stale under E2")
	}
	if x.stale("E2", t0) || !x.mayExist("h2", "E2", t0) {
		t.Fatal("while one caller lists under E2: want no other lister and no refusal")
	}
	x.built("E2", t0, map[string]struct{}{"h1": {}, "h2": {}}, true)
	if !x.mayExist("h2", "E2", t0) || x.mayExist("h3", "E2", t0) {
		t.Fatal("the index listed under E2")
	}
	young, old := t0.Add(maxEpochMemoryAge-time.Nanosecond), t0.Add(maxEpochMemoryAge)
	if x.mayExist("h3", "E2", young) || x.stale("E2", young) {
		t.Fatal("the index just short of its age: want refusals and no listing")
	}
	if !x.mayExist("h3", "E2", old) || !x.mayExist("h3", "E2", t0.Add(-time.Second)) || !x.stale("E2", old) {
		t.Fatal("the index at its age, or with the clock gone back: want no refusal and a new listing")
	}
	x.built("E2", old, map[string]struct{}{"h1": {}, "h2": {}}, true)
	x.built("E3", t0, nil, true) // too many records
	if x.stale("E3", t0) || !x.mayExist("h3", "E3", t0) {
		t.Fatal("with too many records: want no new listing and no refusal")
	}
}
