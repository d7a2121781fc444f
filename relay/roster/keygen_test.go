package roster

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// keyRecordReads counts the reads of blog's key record, and runs during,
// if set, in the middle of the next one: after the read, before its answer.
type keyRecordReads struct {
	store.Store
	reads  atomic.Int64
	during func()
}

func (s *keyRecordReads) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.Store.Get(ctx, key)
	if key == KeyRecordName("blog") {
		s.reads.Add(1)
		if f := s.during; f != nil {
			s.during = nil
			f()
		}
	}
	return data, err
}

// TestKeyGenerationAcrossInstances: an instance answers a project's key
// generation from memory while the key epoch is the one it read it under,
// and a key change on either instance is seen by both at their next read
// of the epoch, with no wait: the one that changed it and the other read
// the record again.
func TestKeyGenerationAcrossInstances(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		env, counted := wrappedEnv(t, edit, func(st store.Store) *keyRecordReads { return &keyRecordReads{Store: st} })
		ctx := context.Background()
		gen := func(i int) string {
			t.Helper()
			g, err := env.rosters[i].KeyGeneration(ctx, blog(env.rosters[i]))
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		first := gen(0)
		before := counted.reads.Load()
		if gen(0) != first || gen(1) != first || gen(1) != first {
			t.Fatal("the generation changed with no key change")
		}
		if reads := counted.reads.Load() - before; reads != 1 {
			t.Fatalf("%d reads of the key record for four generations under one epoch, want 1 (the other instance's first)", reads)
		}
		if _, _, err := env.rosters[1].CreateKey(ctx, "blog", true); err != nil {
			t.Fatal(err)
		}
		rotated := gen(0)
		if rotated == first || gen(1) != rotated {
			t.Fatalf("after a rotation on instance 1: %q, %q; want one new generation (was %q)", rotated, gen(1), first)
		}
		if err := env.rosters[0].RevokeKey(ctx, "blog"); err != nil {
			t.Fatal(err)
		}
		if revoked := gen(1); revoked == rotated || gen(0) != revoked {
			t.Fatalf("after a revoke on instance 0: %q, %q; want one new generation (was %q)", revoked, gen(0), rotated)
		}
	})
}

// A generation read across a key change of this instance is not
// remembered: were the change's epoch never written (the store failed
// then), the memory would otherwise hold the old generation under the
// epoch every later read finds.
func TestKeyGenerationDropsReadsFromBeforeAChange(t *testing.T) {
	env, counted := wrappedEnv(t, nil, func(st store.Store) *keyRecordReads { return &keyRecordReads{Store: st} })
	r, ctx := env.rosters[0], context.Background()
	old, err := r.KeyGeneration(ctx, blog(r))
	if err != nil {
		t.Fatal(err)
	}
	r.gens.forget()
	// in the middle of the next record read: a key change of this
	// instance that wrote its record and emptied the memory, but not the
	// epoch
	counted.during = func() {
		if err := counted.Store.Put(ctx, KeyRecordName("blog"), []byte(`{"revoked":true,"gen":"changed"}`), 0); err != nil {
			t.Error(err)
		}
		r.gens.forget()
	}
	if g, err := r.KeyGeneration(ctx, blog(r)); err != nil || g != old {
		t.Fatalf("the read across the change: %q, %v; want the old %q", g, err, old)
	}
	if g, err := r.KeyGeneration(ctx, blog(r)); err != nil || g != "changed" {
		t.Fatalf("the next read, under the same epoch: %q, %v; want the changed record's generation", g, err)
	}
}
