package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// backend opens Store values over one shared backend: each call returns a
// new, separate instance, as a second relay would hold.
type backend func(prefix string) Store

// runConformance runs the behaviour every Store must share. newBackend
// returns a fresh, empty backend for each subtest; the subtests run in
// parallel.
func runConformance(t *testing.T, newBackend func(t *testing.T) backend) {
	runConformanceSerial(t, newBackend, false)
}

// runConformanceSerial is runConformance, one subtest after the other when
// serial is set: for a backend that is emptied for each subtest rather than
// made anew.
func runConformanceSerial(t *testing.T, newBackend func(t *testing.T) backend, serial bool) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"Expiry", testExpiry},
		{"PutNew", testPutNew},
		{"Take", testTake},
		{"Delete", testDelete},
		{"List", testList},
		{"SharedAcrossInstances", testShared},
		{"BadKeys", testBadKeys},
		{"BadPrefix", testBadPrefix},
		{"TakeRace", testTakeRace},
		{"PutNewRace", testPutNewRace},
		{"Batch", testBatch},
		{"BatchTakeRace", testBatchTakeRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !serial {
				t.Parallel()
			}
			tt.fn(t, newBackend(t))
		})
	}
}

const testPrefix = "outstatic"

func mustPut(t *testing.T, s Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s Store, key, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantNotFound(t *testing.T, s Store, key string) {
	t.Helper()
	if got, err := s.Get(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func wantList(t *testing.T, s Store, prefix string, want ...string) {
	t.Helper()
	got, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	if want == nil {
		want = []string{}
	}
	if got == nil || !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %#v, want %#v", prefix, got, want)
	}
}

func testPutGet(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	wantNotFound(t, s, "keys/blog")
	mustPut(t, s, "keys/blog", "hash-1", 0)
	wantValue(t, s, "keys/blog", "hash-1")

	// Binary values survive, and an empty value is a value.
	bin := []byte{0, 1, 0xff, '\n', 0}
	if err := s.Put(ctx, "secret", bin, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "secret"); err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("Get(secret) = %v, %v; want %v", got, err, bin)
	}
	mustPut(t, s, "empty", "", 0)
	if got, err := s.Get(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %q, %v", got, err)
	}

	// The caller's slices are its own: changing them changes nothing stored.
	in := []byte("abc")
	if err := s.Put(ctx, "copy", in, 0); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _ := s.Get(ctx, "copy")
	out[1] = 'Y'
	wantValue(t, s, "copy", "abc")

	if err := s.Put(ctx, "neg", []byte("v"), -time.Second); err == nil {
		t.Fatal("Put with a negative ttl succeeded")
	}
	if err := s.PutNew(ctx, "neg", []byte("v"), -time.Second); err == nil {
		t.Fatal("PutNew with a negative ttl succeeded")
	}
	wantNotFound(t, s, "neg")
}

func testOverwrite(t *testing.T, b backend) {
	s := b(testPrefix)
	mustPut(t, s, "keys/blog", "v1", 0)
	mustPut(t, s, "keys/blog", "v2", 0)
	wantValue(t, s, "keys/blog", "v2")

	// Replacing a value replaces its expiry too: ttl 0 means none.
	mustPut(t, s, "secret", "short", 100*time.Millisecond)
	mustPut(t, s, "secret", "long", 0)
	time.Sleep(200 * time.Millisecond)
	wantValue(t, s, "secret", "long")
}

func testExpiry(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", 100*time.Millisecond)
	mustPut(t, s, "tokens/b", "B", 100*time.Millisecond)
	mustPut(t, s, "tokens/c", "C", 100*time.Millisecond)
	mustPut(t, s, "tokens/keep", "K", time.Minute)
	wantValue(t, s, "tokens/a", "A")
	wantList(t, s, "tokens/", "tokens/a", "tokens/b", "tokens/c", "tokens/keep")

	time.Sleep(200 * time.Millisecond)
	wantNotFound(t, s, "tokens/a")
	if v, err := s.Take(ctx, "tokens/b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Take of an expired key = %q, %v; want ErrNotFound", v, err)
	}
	wantList(t, s, "tokens/", "tokens/keep")
	wantValue(t, s, "tokens/keep", "K")
}

func testPutNew(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	if err := s.PutNew(ctx, "spent/x", []byte("first"), 0); err != nil {
		t.Fatalf("PutNew of an absent key: %v", err)
	}
	if err := s.PutNew(ctx, "spent/x", []byte("second"), 0); !errors.Is(err, ErrExists) {
		t.Fatalf("PutNew of a present key: %v, want ErrExists", err)
	}
	wantValue(t, s, "spent/x", "first")

	// An expired entry counts as absent.
	if err := s.PutNew(ctx, "spent/y", []byte("old"), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.PutNew(ctx, "spent/y", []byte("new"), time.Minute); err != nil {
		t.Fatalf("PutNew over an expired key: %v", err)
	}
	wantValue(t, s, "spent/y", "new")

	// After Delete or Take the key is free again.
	if err := s.Delete(ctx, "spent/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNew(ctx, "spent/x", []byte("again"), 0); err != nil {
		t.Fatalf("PutNew after Delete: %v", err)
	}
	if _, err := s.Take(ctx, "spent/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNew(ctx, "spent/x", []byte("third"), 0); err != nil {
		t.Fatalf("PutNew after Take: %v", err)
	}
}

func testTake(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	if v, err := s.Take(ctx, "tokens/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Take of a missing key = %q, %v; want ErrNotFound", v, err)
	}
	mustPut(t, s, "tokens/abc", "payload", time.Minute)
	v, err := s.Take(ctx, "tokens/abc")
	if err != nil || string(v) != "payload" {
		t.Fatalf("Take = %q, %v; want payload", v, err)
	}
	wantNotFound(t, s, "tokens/abc")
	if v, err := s.Take(ctx, "tokens/abc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Take = %q, %v; want ErrNotFound", v, err)
	}
}

func testDelete(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	mustPut(t, s, "keys/blog", "h", 0)
	mustPut(t, s, "keys/docs", "h", 0)
	if err := s.Delete(ctx, "keys/blog"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, "keys/blog")
	if err := s.Delete(ctx, "keys/blog"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	// "keys" holds no value of its own: deleting it must not touch keys/*.
	if err := s.Delete(ctx, "keys"); err != nil {
		t.Fatalf("deleting a key that is only a path prefix: %v", err)
	}
	wantValue(t, s, "keys/docs", "h")
}

func testList(t *testing.T, b backend) {
	s := b(testPrefix)
	for _, k := range []string{"keys/b", "keys/a", "keys/blog", "keysx", "tokens/t1", "secret"} {
		mustPut(t, s, k, "v", 0)
	}
	mustPut(t, s, "tokens/gone", "v", 50*time.Millisecond)
	// Another prefix on the same backend is another store.
	mustPut(t, b("other"), "keys/zzz", "v", 0)

	wantList(t, s, "keys/", "keys/a", "keys/b", "keys/blog")
	wantList(t, s, "keys/b", "keys/b", "keys/blog")
	wantList(t, s, "keys", "keys/a", "keys/b", "keys/blog", "keysx")
	wantList(t, s, "nothing/")
	wantList(t, s, "keys/blog", "keys/blog")
	time.Sleep(100 * time.Millisecond)
	wantList(t, s, "", "keys/a", "keys/b", "keys/blog", "keysx", "secret", "tokens/t1")
	wantList(t, b("other"), "", "keys/zzz")
	wantList(t, b("empty"), "")
}

func testShared(t *testing.T, b backend) {
	one, two := b(testPrefix), b(testPrefix)
	ctx := context.Background()
	mustPut(t, one, "tokens/t", "v", time.Minute)
	wantValue(t, two, "tokens/t", "v")
	if _, err := one.Take(ctx, "tokens/t"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, two, "tokens/t")
	if v, err := two.Take(ctx, "tokens/t"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Take on the other instance = %q, %v; want ErrNotFound", v, err)
	}
	if err := two.PutNew(ctx, "spent/s", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := one.PutNew(ctx, "spent/s", nil, time.Minute); !errors.Is(err, ErrExists) {
		t.Fatalf("PutNew on the other instance: %v, want ErrExists", err)
	}
}

var badKeys = []string{
	"", "/keys", "keys/", "keys//blog", "..", "../secret", "keys/../secret", "keys/./a",
	"keys/blog\n", "sp ace", "tab\t", "caf\u00e9", "nul\x00", "back\\slash", "c:drive",
	"star*", "q?", "br[a]", "pipe|", "a\"b", "<a>",
	string(make([]byte, MaxKeyLen+1)),
	"k/" + string(bytes.Repeat([]byte("a"), MaxKeyLen-1)),
}

func testBadKeys(t *testing.T, b backend) {
	s := b(testPrefix)
	ctx := context.Background()
	for _, k := range badKeys {
		calls := map[string]error{
			"Put":    s.Put(ctx, k, []byte("v"), 0),
			"PutNew": s.PutNew(ctx, k, []byte("v"), 0),
			"Delete": s.Delete(ctx, k),
		}
		_, calls["Get"] = s.Get(ctx, k)
		_, calls["Take"] = s.Take(ctx, k)
		for name, err := range calls {
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%s(%q) = %v, want ErrInvalidKey", name, k, err)
			}
		}
	}
	for _, p := range []string{"/", "/keys", "../", "keys/../", "a//b", "sp ace", "x*"} {
		if _, err := s.List(ctx, p); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("List(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
	// Nothing was written by the refused calls.
	wantList(t, s, "")
	// The longest key is fine.
	long := string(bytes.Repeat([]byte("k"), MaxKeyLen))
	mustPut(t, s, long, "v", 0)
	wantValue(t, s, long, "v")
}

func testBadPrefix(t *testing.T, b backend) {
	ctx := context.Background()
	for _, p := range []string{"", "a b", "x*", "caf\u00e9"} {
		s := b(p)
		if err := s.Put(ctx, "k", []byte("v"), 0); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("prefix %q: Put = %v, want ErrInvalidKey", p, err)
		}
		if _, err := s.List(ctx, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("prefix %q: List = %v, want ErrInvalidKey", p, err)
		}
	}
}

// testTakeRace is the property single use rests on: 100 goroutines, half on
// each of two instances, Take one key at once; exactly one gets the value.
// The 20 keys race at the same time, which also keeps the file storage's
// once-a-second lock polling from adding up.
func testTakeRace(t *testing.T, b backend) {
	const keys, perInstance = 20, 50
	instances := []Store{b(testPrefix), b(testPrefix)}
	for k := range keys {
		mustPut(t, instances[0], fmt.Sprintf("tokens/race%02d", k), fmt.Sprintf("value%02d", k), time.Minute)
	}
	type result struct {
		key   int
		value []byte
		err   error
	}
	results := make(chan result, keys*perInstance*len(instances))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range keys {
		for _, s := range instances {
			for range perInstance {
				wg.Go(func() {
					<-start
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					defer cancel()
					v, err := s.Take(ctx, fmt.Sprintf("tokens/race%02d", k))
					results <- result{k, v, err}
				})
			}
		}
	}
	close(start)
	wg.Wait()
	close(results)

	won := make([]int, keys)
	lost := make([]int, keys)
	for r := range results {
		switch {
		case r.err == nil:
			won[r.key]++
			if want := fmt.Sprintf("value%02d", r.key); string(r.value) != want {
				t.Errorf("key %d: Take = %q, want %q", r.key, r.value, want)
			}
		case errors.Is(r.err, ErrNotFound):
			lost[r.key]++
		default:
			t.Errorf("key %d: Take: %v", r.key, r.err)
		}
	}
	for k := range keys {
		if won[k] != 1 || lost[k] != 2*perInstance-1 {
			t.Errorf("key %d: %d Takes got the value and %d got ErrNotFound; want 1 and %d",
				k, won[k], lost[k], 2*perInstance-1)
		}
	}
}

// testPutNewRace: of 100 concurrent PutNews of one key over two instances,
// exactly one wins, and its value is the one stored.
func testPutNewRace(t *testing.T, b backend) {
	const keys, perInstance = 5, 50
	instances := []Store{b(testPrefix), b(testPrefix)}
	var (
		mu      sync.Mutex
		winners = make(map[int][]string)
		exists  = make(map[int]int)
	)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range keys {
		for i, s := range instances {
			for j := range perInstance {
				wg.Go(func() {
					<-start
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					defer cancel()
					value := fmt.Sprintf("i%d-g%d", i, j)
					err := s.PutNew(ctx, fmt.Sprintf("spent/race%d", k), []byte(value), time.Minute)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						winners[k] = append(winners[k], value)
					case errors.Is(err, ErrExists):
						exists[k]++
					default:
						t.Errorf("key %d: PutNew: %v", k, err)
					}
				})
			}
		}
	}
	close(start)
	wg.Wait()
	for k := range keys {
		if len(winners[k]) != 1 || exists[k] != 2*perInstance-1 {
			t.Fatalf("key %d: %d PutNews won (%v) and %d got ErrExists; want 1 and %d",
				k, len(winners[k]), winners[k], exists[k], 2*perInstance-1)
		}
		wantValue(t, instances[1], fmt.Sprintf("spent/race%d", k), winners[k][0])
	}
}
