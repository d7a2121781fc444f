package relay

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Two instances (a guard's and a relay's) sharing a file store: a record
// made on one is read once on the other, and a replay is seen by both.
func TestStoreCallbacksAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	a := StoreCallbacks{Store: store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic"), TTL: time.Minute}
	b := StoreCallbacks{Store: store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic"), TTL: time.Minute}
	if !a.Remember("tok-1", "https://blog.example.com/api/outstatic/callback") {
		t.Fatal("first arrival refused")
	}
	if b.Remember("tok-1", "https://evil.example/") {
		t.Fatal("a replay on another instance was not seen")
	}
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := a
			if i%2 == 1 {
				m = b
			}
			if cb, ok := m.Take("tok-1"); ok {
				if cb != "https://blog.example.com/api/outstatic/callback" {
					t.Errorf("took %q", cb)
				}
				got.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if got.Load() != 1 {
		t.Fatalf("%d takes succeeded, want 1", got.Load())
	}
	if a.Remember("tok-1", "x") {
		t.Fatal("a taken token counts as new again")
	}
	if _, ok := b.Take("never-seen"); ok {
		t.Fatal("took a token nobody recorded")
	}
}
