package roster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// A confirmation that began before the memory was emptied (it may have read
// a record a key change replaced) is not remembered.
func TestKeyMemoryDropsConfirmationsFromBeforeAChange(t *testing.T) {
	st := store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	var m keyMemory
	now := time.Unix(1000, 0)
	if err := m.refresh(context.Background(), st, now); err != nil {
		t.Fatal(err)
	}
	p := &Project{Slug: "blog"}
	l := m.lookup("h", now, time.Second)
	if !l.fresh {
		t.Fatal("memory not fresh right after a read of the epoch")
	}
	m.forget() // a key changed here meanwhile, and another check read the epoch since
	if err := m.refresh(context.Background(), st, now); err != nil {
		t.Fatal(err)
	}
	m.remember("h", p, l.version)     // the slow confirmation ends only now
	m.rememberUnknown("u", l.version) // and so does a slow refusal
	if got := m.lookup("h", now, time.Second); got.project != nil {
		t.Fatal("a confirmation from before the change was remembered")
	}
	// and an epoch written elsewhere empties it at the next read
	if m.lookup("u", now, time.Second).unknown {
		t.Fatal("a refusal from before the change was remembered")
	}
	l = m.lookup("h", now, time.Second)
	m.remember("h", p, l.version)
	m.rememberUnknown("u", l.version)
	if got := m.lookup("h", now, time.Second); got.project != p {
		t.Fatal("a confirmation was not remembered")
	}
	if err := st.Put(context.Background(), keyEpochName, []byte("elsewhere"), 0); err != nil {
		t.Fatal(err)
	}
	if !m.lookup("u", now, time.Second).unknown {
		t.Fatal("a refusal was not remembered")
	}
	if m.lookup("h", now.Add(time.Second), time.Second).fresh {
		t.Fatal("memory fresh a whole KeyRecheck after the last read")
	}
	if err := m.refresh(context.Background(), st, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := m.lookup("h", now.Add(time.Second), time.Second); got.project != nil || got.unknown {
		t.Fatal("a new epoch did not empty the memory")
	}
}

// Key checks racing rotations on the same instance (and the memory's locks,
// under go test -race): none of them leaves the old key in memory, so it is
// refused at once after each rotation.
func TestNativeKeyChecksRacingARotation(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx := context.Background()
	n := env.rosters[0]
	for round := 0; round < 20; round++ {
		old := env.key
		if _, err := n.ProjectForKey(ctx, old); err != nil {
			t.Fatal(err)
		}
		n.keys.forget() // the racing checks read the records, not the memory
		done := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
						_, _ = n.ProjectForKey(ctx, old)
					}
				}
			})
		}
		key, _, err := n.CreateKey(ctx, "blog", true)
		close(done)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.ProjectForKey(ctx, old); err != relay.ErrMalformedKey {
			t.Fatalf("round %d: the rotated key right after the rotation: %v", round, err)
		}
		env.key = key
	}
}

// TestUnknownKeysReplaceTheOldest: past MaxUnknownKeys, each new unknown
// hash replaces the oldest; one remembered again takes no second place.
func TestUnknownKeysReplaceTheOldest(t *testing.T) {
	var m keyMemory
	now := time.Now()
	m.polled = now
	m.rememberUnknown("h0", m.version)
	for i := range MaxUnknownKeys + 10 {
		m.rememberUnknown(fmt.Sprint("h", i), m.version) // h0 again: no second place
	}
	if len(m.unknown) != MaxUnknownKeys || len(m.arrived) != MaxUnknownKeys {
		t.Fatalf("%d remembered (%d in order), want %d", len(m.unknown), len(m.arrived), MaxUnknownKeys)
	}
	for i, want := range map[int]bool{0: false, 9: false, 10: true, MaxUnknownKeys + 9: true} {
		if got := m.lookup(fmt.Sprint("h", i), now, time.Second).unknown; got != want {
			t.Errorf("h%d remembered: %v, want %v", i, got, want)
		}
	}
}
