package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddyserver/certmagic"
)

// Each instance gets its own certmagic.FileStorage value over one
// directory, as two Caddy processes sharing a data directory would.
func fileBackend(t *testing.T) backend {
	dir := t.TempDir()
	return func(prefix string) Store {
		return NewStorage(&certmagic.FileStorage{Path: dir}, prefix)
	}
}

func TestStorageConformance(t *testing.T) {
	runConformance(t, fileBackend)
}

func newClockedStorage(t *testing.T) (*storageStore, *certmagic.FileStorage, *testclock.Clock) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	clock := testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	return newStorage(fs, testPrefix, clock.Now), fs, clock
}

func TestStorageExpiryBoundary(t *testing.T) {
	st, fs, clock := newClockedStorage(t)
	ctx := context.Background()
	mustPut(t, st, "tokens/t", "v", 2*time.Minute)
	clock.Advance(2*time.Minute - time.Nanosecond)
	wantValue(t, st, "tokens/t", "v")
	clock.Advance(time.Nanosecond)
	wantNotFound(t, st, "tokens/t")
	// Get removed the expired entry from the storage.
	if fs.Exists(ctx, testPrefix+"/tokens/t") {
		t.Fatal("expired entry still in the storage after Get")
	}

	mustPut(t, st, "tokens/u", "v", time.Minute)
	clock.Advance(time.Hour)
	if _, err := st.Take(ctx, "tokens/u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Take of an expired key: %v, want ErrNotFound", err)
	}
	if fs.Exists(ctx, testPrefix+"/tokens/u") {
		t.Fatal("expired entry still in the storage after Take")
	}
}

func TestStorageSweep(t *testing.T) {
	st, fs, clock := newClockedStorage(t)
	ctx := context.Background()
	for _, k := range []string{"spent/a", "spent/b", "tokens/c"} {
		mustPut(t, st, k, "v", time.Minute)
	}
	mustPut(t, st, "spent/live", "v", time.Hour)
	mustPut(t, st, "secret", "v", 0)
	clock.Advance(2 * time.Minute)

	// List hides expired entries but leaves them to Sweep.
	wantList(t, st, "", "secret", "spent/live")
	if !fs.Exists(ctx, testPrefix+"/spent/a") {
		t.Fatal("List removed an entry")
	}
	n, err := st.Sweep(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3, nil", n, err)
	}
	for _, k := range []string{"spent/a", "spent/b", "tokens/c"} {
		if fs.Exists(ctx, testPrefix+"/"+k) {
			t.Errorf("%s still in the storage after Sweep", k)
		}
	}
	wantValue(t, st, "spent/live", "v")
	wantValue(t, st, "secret", "v")
	if n, err := st.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0, nil", n, err)
	}
	if _, ok := NewStorage(fs, testPrefix).(Sweeper); !ok {
		t.Fatal("NewStorage's Store does not implement Sweeper")
	}
}

func TestStorageLayout(t *testing.T) {
	st, fs, clock := newClockedStorage(t)
	mustPut(t, st, "tokens/abc", "payload", time.Minute)
	b, err := os.ReadFile(filepath.Join(fs.Path, testPrefix, "tokens", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	want := encodeEnvelope([]byte("payload"), clock.Now().Add(time.Minute))
	if !bytes.Equal(b, want) || !bytes.HasPrefix(b, []byte(envelopeMagic)) {
		t.Fatalf("stored bytes %q, want %q", b, want)
	}
}

func TestStorageForeignFile(t *testing.T) {
	st, fs, _ := newClockedStorage(t)
	ctx := context.Background()
	if err := fs.Store(ctx, testPrefix+"/keys/junk", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, st, "keys/good", "v", 0)
	if _, err := st.Get(ctx, "keys/junk"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a foreign file: %v, want a decoding error", err)
	}
	wantList(t, st, "keys/", "keys/good")
}

func TestStorageLockNames(t *testing.T) {
	a := newStorage(&certmagic.FileStorage{}, "outstatic", time.Now)
	b := newStorage(&certmagic.FileStorage{}, "other", time.Now)
	safe := regexp.MustCompile(`^[a-z0-9_]+$`)
	seen := map[string]bool{}
	for _, n := range []string{
		a.lockName("tokens/ABC"), a.lockName("tokens/abc"), a.lockName("tokensabc"),
		a.lockName("keys/blog"), b.lockName("keys/blog"),
	} {
		if !safe.MatchString(n) || n != certmagic.StorageKeys.Safe(n) {
			t.Errorf("lock name %q is not file-safe", n)
		}
		if seen[n] {
			t.Errorf("lock name %q used twice", n)
		}
		seen[n] = true
	}
}

// After a race every lock is released (Unlock ran on every path): another
// store takes each of them at once, and the lock files are no more than
// the stripes.
func TestStorageLeavesNoLocks(t *testing.T) {
	dir := t.TempDir()
	s1 := NewStorage(&certmagic.FileStorage{Path: dir}, testPrefix)
	s2 := NewStorage(&certmagic.FileStorage{Path: dir}, testPrefix)
	ctx := context.Background()
	mustPut(t, s1, "tokens/x", "v", time.Minute)
	mustPut(t, s1, "spent/x", "v", time.Minute)
	var wg sync.WaitGroup
	for i := range 20 {
		s := []Store{s1, s2}[i%2]
		wg.Go(func() { _, _ = s.Take(ctx, "tokens/x") })
		wg.Go(func() { _ = s.PutNew(ctx, "spent/x", nil, time.Minute) })
		wg.Go(func() { _ = s.PutNew(ctx, "spent/y", nil, time.Minute) })
		wg.Go(func() { _ = s.Put(ctx, "tokens/y", nil, time.Minute) })
	}
	wg.Wait()
	locks, err := os.ReadDir(filepath.Join(dir, "locks"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(locks) > lockStripes {
		t.Fatalf("%d lock files, more than the %d stripes", len(locks), lockStripes)
	}
	third := newStorage(&certmagic.FileStorage{Path: dir}, testPrefix, time.Now)
	for _, key := range []string{"tokens/x", "spent/x", "spent/y", "tokens/y"} {
		name := third.lockName(key)
		ok, err := tryLock(third.ways.locker, name)
		if err != nil || !ok {
			t.Fatalf("the lock of %s after the race: still held (%v)", key, err)
		}
		if err := third.ways.locker.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
}

// tryLock takes l's lock name if no one holds it.
func tryLock(l certmagic.Locker, name string) (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Lock then makes the one attempt a done context allows
	err := l.Lock(ctx, name)
	if errors.Is(err, context.Canceled) {
		return false, nil
	}
	return err == nil, err
}

// failingStorage fails Store and counts lock calls.
type failingStorage struct {
	*certmagic.FileStorage
	mu             sync.Mutex
	locks, unlocks int
}

func (f *failingStorage) Store(context.Context, string, []byte) error {
	return errors.New("disk full")
}

func (f *failingStorage) Lock(ctx context.Context, name string) error {
	f.mu.Lock()
	f.locks++
	f.mu.Unlock()
	return f.FileStorage.Lock(ctx, name)
}

func (f *failingStorage) Unlock(ctx context.Context, name string) error {
	f.mu.Lock()
	f.unlocks++
	f.mu.Unlock()
	return f.FileStorage.Unlock(ctx, name)
}

func TestStorageUnlocksOnError(t *testing.T) {
	fs := &failingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	s := NewStorage(fs, testPrefix)
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), 0); err == nil {
		t.Fatal("Put succeeded on a failing storage")
	}
	if err := s.PutNew(ctx, "k", []byte("v"), 0); err == nil {
		t.Fatal("PutNew succeeded on a failing storage")
	}
	if fs.locks != 2 || fs.unlocks != 2 {
		t.Fatalf("%d locks, %d unlocks; want 2 and 2", fs.locks, fs.unlocks)
	}
}

// A lock held elsewhere (another store on the same directory, as another
// process would be) makes PutNew wait, and the caller's context bounds the
// wait. (Take needs no lock in Caddy's file storage: see claimFile.)
func TestStorageLockWaitHonoursContext(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	st := newStorage(fs, testPrefix, time.Now)
	other := newStorage(&certmagic.FileStorage{Path: fs.Path}, testPrefix, time.Now).ways.locker
	bg := context.Background()
	if err := other.Lock(bg, st.lockName("spent/held")); err != nil {
		t.Fatal(err)
	}
	// The lock stays held: only the context's deadline can end the wait.
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	put := make(chan error, 1)
	go func() { put <- st.PutNew(ctx, "spent/held", []byte("v"), time.Minute) }()
	if err := testwait.Recv(t, "PutNew under a held lock", put); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PutNew under a held lock: %v, want a deadline error", err)
	}
	if err := other.Unlock(bg, st.lockName("spent/held")); err != nil {
		t.Fatal(err)
	}
	if err := st.PutNew(bg, "spent/held", []byte("v"), time.Minute); err != nil {
		t.Fatalf("PutNew after unlock: %v", err)
	}
	if v, err := st.Take(bg, "spent/held"); err != nil || string(v) != "v" {
		t.Fatalf("Take after unlock = %q, %v", v, err)
	}
}

func TestKeyLocks(t *testing.T) {
	var k keyLocks
	ctx := context.Background()
	if err := k.lock(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// A second locker waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := k.lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock of a held key: %v, want a deadline error", err)
	}
	// Another key is independent.
	if err := k.lock(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	k.unlock("b")
	k.unlock("a")
	if err := k.lock(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	k.unlock("a")
	if len(k.m) != 0 {
		t.Fatalf("keyLocks keeps %d keys after every lock was released", len(k.m))
	}
}

// slowStorage widens the gap between a Take's read and its delete, where
// two unlocked Takes would both win.
type slowStorage struct{ *certmagic.FileStorage }

func (s slowStorage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.FileStorage.Load(ctx, key)
	time.Sleep(2 * time.Millisecond)
	return b, err
}

// dirWithTokens is a file storage directory holding the tokens prefix0 to
// prefix<n-1>, each for a minute.
func dirWithTokens(t *testing.T, prefix string, n int) string {
	t.Helper()
	dir := t.TempDir()
	st := NewStorage(&certmagic.FileStorage{Path: dir}, testPrefix)
	for k := range n {
		mustPut(t, st, fmt.Sprintf("%s%d", prefix, k), "v", time.Minute)
	}
	return dir
}

// With one instance per goroutine nothing queues in process: every Take
// meets the others at the storage's lock files, as separate processes do.
func TestStorageTakeRaceManyInstances(t *testing.T) {
	const keys, instances = 5, 20
	dir := dirWithTokens(t, "tokens/many", keys)
	var (
		mu   sync.Mutex
		won  = make([]int, keys)
		lost = make([]int, keys)
	)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range keys {
		for range instances {
			s := NewStorage(slowStorage{&certmagic.FileStorage{Path: dir}}, testPrefix)
			wg.Go(func() {
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				_, err := s.Take(ctx, fmt.Sprintf("tokens/many%d", k))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won[k]++
				case errors.Is(err, ErrNotFound):
					lost[k]++
				default:
					t.Errorf("key %d: Take: %v", k, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for k := range keys {
		if won[k] != 1 || lost[k] != instances-1 {
			t.Errorf("key %d: %d won, %d ErrNotFound; want 1 and %d", k, won[k], lost[k], instances-1)
		}
	}
}
