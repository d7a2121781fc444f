package relay

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// A memory flooded with tokens keeps at most its maximum, dropping the
// oldest, and the newest records still serve.
func TestMemoryCallbacksBounded(t *testing.T) {
	m := NewMemoryCallbacksMax(time.Minute, 100)
	for i := 0; i < 10_000; i++ {
		if !m.Remember(fmt.Sprintf("flood-%d", i), "https://blog.example.com/api/outstatic/callback") {
			t.Fatalf("token %d refused", i)
		}
		if n := m.Len(); n > 100 {
			t.Fatalf("%d entries after %d tokens, max 100", n, i+1)
		}
	}
	if len(m.order)-m.head != m.Len() || len(m.order) > 2*1024+200 {
		t.Fatalf("order holds %d keys (head %d) for %d entries", len(m.order), m.head, m.Len())
	}
	if cb, ok := m.Take("flood-9999"); !ok || cb == "" {
		t.Fatal("the newest record was dropped")
	}
	if _, ok := m.Take("flood-0"); ok {
		t.Fatal("the oldest record was kept past the maximum")
	}
	// bindings share the bound
	for i := 0; i < 1000; i++ {
		m.SpendBinding(fmt.Sprintf("binding-%d", i), time.Now().Add(time.Minute))
	}
	if m.Len() > 100 {
		t.Fatalf("%d entries, max 100", m.Len())
	}
}

// Entries expire: a token's record after the ttl, a binding at its own
// expiry; expired entries make room before live ones are dropped.
func TestMemoryCallbacksExpire(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := newMemoryCallbacks(time.Minute, 3, func() time.Time { return now })
	m.Remember("old", "cb-old")
	m.SpendBinding("b-old", now.Add(30*time.Second))
	now = now.Add(2 * time.Minute)
	if _, ok := m.Take("old"); ok {
		t.Fatal("an expired record was taken")
	}
	if !m.Remember("old", "cb-again") {
		t.Fatal("an expired token still counts as seen")
	}
	if !m.SpendBinding("b-old", now.Add(time.Minute)) {
		t.Fatal("an expired binding still counts as spent")
	}
	m.Remember("new-1", "cb-1")
	m.Remember("new-2", "cb-2")
	if m.Len() > 3 {
		t.Fatalf("%d entries, max 3", m.Len())
	}
	if cb, ok := m.Take("new-2"); !ok || cb != "cb-2" {
		t.Fatalf("took %q %v", cb, ok)
	}
	if m.SpendBinding("b-late", now) {
		t.Fatal("a binding at its expiry was spent")
	}
}

// A binding is spent once, in memory and across instances sharing a store;
// a token seen or a binding spent stays so after the other kind is used.
func TestSpendBindingOnce(t *testing.T) {
	dir := t.TempDir()
	a := StoreCallbacks{Store: store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic"), TTL: time.Minute}
	b := StoreCallbacks{Store: store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic"), TTL: time.Minute}
	for name, pair := range map[string][2]BindingMemory{
		"memory": {NewMemoryCallbacks(time.Minute), nil},
		"store":  {a, b},
	} {
		first, second := pair[0], pair[1]
		if second == nil {
			second = first
		}
		exp := time.Now().Add(time.Minute)
		if !first.SpendBinding("login-1", exp) {
			t.Fatalf("%s: first spend refused", name)
		}
		if second.SpendBinding("login-1", exp) {
			t.Fatalf("%s: a binding was spent twice", name)
		}
		if !second.SpendBinding("login-2", exp) {
			t.Fatalf("%s: another binding refused", name)
		}
		if first.SpendBinding("login-3", time.Now().Add(-time.Second)) {
			t.Fatalf("%s: an expired binding was spent", name)
		}
		// a binding id and a token of the same value do not meet
		if !first.(CallbackMemory).Remember("login-1", "cb") {
			t.Fatalf("%s: a token collided with a binding", name)
		}
	}
}

// Every entry a StoreCallbacks writes expires, so a sweep removes it.
func TestStoreCallbacksEntriesExpire(t *testing.T) {
	dir := t.TempDir()
	st := store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic")
	s := StoreCallbacks{Store: st, TTL: time.Second}
	s.Remember("tok-expiring", "cb")
	s.SpendBinding("binding-expiring", time.Now().Add(time.Second))
	keys, err := st.List(t.Context(), "")
	if err != nil || len(keys) != 3 {
		t.Fatalf("keys %v %v, want seen, callback and binding", keys, err)
	}
	time.Sleep(1100 * time.Millisecond)
	n, err := st.(store.Sweeper).Sweep(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("swept %d %v, want 3", n, err)
	}
}
