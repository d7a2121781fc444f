package roster

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// failingEpochs fails every write of the key and project epochs while
// fail is set: a store that goes down between a change's records and its
// epoch.
type failingEpochs struct {
	store.Store
	fail atomic.Bool
}

func (f *failingEpochs) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if f.fail.Load() && (key == keyEpochName || key == projectEpochName) {
		return errors.New("the store went down")
	}
	return f.Store.Put(ctx, key, value, ttl)
}

// TestFailedEpochWritesAgeOut: a key rotated and a project made on one
// instance whose epoch writes fail (each change returns the error) are
// not seen by the other instance while its memories are young, and are
// once they are maxEpochMemoryAge old: the replaced key and its sessions'
// generation are refused, the new key (not in the hash index listed
// before) and the project are served; on the file store and on Redis.
func TestFailedEpochWritesAgeOut(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		env, st := wrappedEnv(t, edit, func(s store.Store) *failingEpochs { return &failingEpochs{Store: s} })
		ctx := context.Background()
		a, b := env.rosters[0], env.rosters[1]
		if p, err := a.ProjectForKey(ctx, env.key); err != nil || p.Slug != "blog" {
			t.Fatalf("the key: %v %v", p, err)
		}
		gen, err := a.KeyGeneration(ctx, blog(a))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := a.Project(ctx, "docs"); p != nil || err != nil {
			t.Fatalf("docs before it is made: %v %v", p, err)
		}
		for range 2 { // writes any missing hash record, then lists them
			made, _, _, _ := relay.NewKey()
			if _, err := a.ProjectForKey(ctx, made); err != relay.ErrMalformedKey {
				t.Fatalf("a made-up key: %v", err)
			}
		}

		st.fail.Store(true)
		key, hash, prefix, err := relay.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		err = b.changeKey(ctx, "blog", func(keyRecord, bool) (keyRecord, error) {
			rec := keyRecord{Hash: hash, Prefix: prefix, Created: b.now().UTC(), Gen: newGeneration()}
			return rec, b.st.Put(ctx, keyHashName(hash), []byte(`"blog"`), 0)
		})
		if err == nil || !strings.Contains(err.Error(), "other instances were not told") {
			t.Fatalf("a key change whose epoch write failed: %v", err)
		}
		spec := ProjectSpec{Slug: "docs", Repo: "acme/docs", Origins: []string{"https://docs.example.com/outstatic"}, Owner: "ada"}
		if _, err := b.Stored().Create(ctx, spec, OperatorActor("test")); err == nil || !strings.Contains(err.Error(), "other instances were not told") {
			t.Fatalf("a project made whose epoch write failed: %v", err)
		}
		st.fail.Store(false)

		// Young memories: the other instance has not seen either change
		// (what the changes' errors warn of).
		env.now.Add(int64(2 * ProjectsTTL))
		if p, err := a.ProjectForKey(ctx, env.key); err != nil || p.Slug != "blog" {
			t.Fatalf("the replaced key before the memory ages: %v %v (the epoch write did not fail?)", p, err)
		}
		if _, err := a.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
			t.Fatalf("the new key before the hash index ages: %v", err)
		}
		if g, err := a.KeyGeneration(ctx, blog(a)); err != nil || g != gen {
			t.Fatalf("the generation before the memory ages: %q %v, want %q", g, err, gen)
		}
		if p, err := a.Project(ctx, "docs"); p != nil || err != nil {
			t.Fatalf("the new project before the copy ages: %v %v", p, err)
		}

		env.now.Add(int64(maxEpochMemoryAge))
		if _, err := a.ProjectForKey(ctx, env.key); err != relay.ErrMalformedKey {
			t.Fatalf("the replaced key once the memory aged: %v", err)
		}
		if p, err := a.ProjectForKey(ctx, key); err != nil || p.Slug != "blog" {
			t.Fatalf("the new key once the hash index aged: %v %v", p, err)
		}
		if g, err := a.KeyGeneration(ctx, blog(a)); err != nil || g == gen {
			t.Fatalf("the generation once the memory aged: %q %v, the old one %q", g, err, gen)
		}
		if p, err := a.Project(ctx, "docs"); err != nil || p == nil || p.RepoSlug != "docs" {
			t.Fatalf("the new project once the copy aged: %v %v", p, err)
		}
	})
}
