//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/certmagic"
)

// Caddy's file storage gets the flock locker and the unsynced writes;
// any other storage keeps its own locks and writes.
func TestFileStorageWays(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	if st := newStorage(fs, testPrefix, time.Now); st.ways.write == nil {
		t.Fatal("file storage: no unsynced writes")
	} else if _, ok := st.ways.locker.(*flockLocker); !ok {
		t.Fatalf("file storage: locker %T, want the flock locker", st.ways.locker)
	}
	wrapped := newStorage(slowStorage{fs}, testPrefix, time.Now)
	if wrapped.ways.write != nil || wrapped.ways.claim != nil || wrapped.ways.locker != certmagic.Locker(slowStorage{fs}) {
		t.Fatalf("another storage: locker %T, writes %v", wrapped.ways.locker, wrapped.ways.write != nil)
	}
}

// Lockers on one directory (each as another process would be: flock is
// held per open file) never hold one name at once.
func TestFlockLockerExcludes(t *testing.T) {
	dir := t.TempDir()
	const lockers, rounds = 8, 200
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range lockers {
		l := fileStorageLockerFor(dir)
		wg.Go(func() {
			ctx := context.Background()
			for range rounds {
				if err := l.Lock(ctx, "one"); err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				inside.Add(-1)
				if err := l.Unlock(ctx, "one"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d lockers held the lock at once", most.Load())
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "locks")); len(left) != 1 {
		t.Fatalf("lock files: %v, want the one stripe's", left)
	}
}

func fileStorageLockerFor(dir string) certmagic.Locker {
	return fileStorageWays(&certmagic.FileStorage{Path: dir}).locker
}

// The flock locker with reads slowed down, one store per goroutine:
// every Take and PutNew meets the others at the flock, and one wins.
func TestFlockSingleUseManyInstances(t *testing.T) {
	const keys, instances = 5, 20
	dir := dirWithTokens(t, "tokens/many", keys)
	var mu sync.Mutex
	took, marked := make([]int, keys), make([]int, keys)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range keys {
		for range instances {
			fs := &certmagic.FileStorage{Path: dir}
			s := newStorage(slowStorage{fs}, testPrefix, time.Now)
			s.ways = fileStorageWays(fs)
			wg.Go(func() {
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				_, terr := s.Take(ctx, fmt.Sprintf("tokens/many%d", k))
				perr := s.PutNew(ctx, fmt.Sprintf("spent/many%d", k), []byte{1}, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				if countWin(t, terr, ErrNotFound) {
					took[k]++
				}
				if countWin(t, perr, ErrExists) {
					marked[k]++
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for k := range keys {
		if took[k] != 1 || marked[k] != 1 {
			t.Errorf("key %d: %d Takes and %d PutNews won, want 1 and 1", k, took[k], marked[k])
		}
	}
}

// countWin says whether err is a win; the loser's error is lose.
func countWin(t *testing.T, err, lose error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, lose) {
		t.Errorf("unexpected error: %v", err)
	}
	return err == nil
}

// Separate processes on one directory: each token is taken once and each
// marker made once, whichever process gets there first.
func TestFileStorageSingleUseAcrossProcesses(t *testing.T) {
	const keys, procs = 40, 4
	dir := dirWithTokens(t, "tokens/p", keys)
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestFileStorageRaceChild$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "STORE_RACE_DIR="+dir, fmt.Sprintf("STORE_RACE_KEYS=%d", keys))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	won := map[string]int{}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
		}
		for line := range strings.SplitSeq(outs[i].String(), "\n") {
			if w, ok := strings.CutPrefix(line, "won "); ok {
				won[w]++
			}
		}
	}
	for k := range keys {
		for _, name := range []string{fmt.Sprintf("tokens/p%d", k), fmt.Sprintf("spent/p%d", k)} {
			if won[name] != 1 {
				t.Errorf("%s won %d times over %d processes, want once", name, won[name], procs)
			}
		}
	}
}

// TestFileStorageRaceChild is one process of the test above; on its own
// it does nothing.
func TestFileStorageRaceChild(t *testing.T) {
	dir := os.Getenv("STORE_RACE_DIR")
	if dir == "" {
		return
	}
	var keys int
	fmt.Sscan(os.Getenv("STORE_RACE_KEYS"), &keys)
	s := NewStorage(&certmagic.FileStorage{Path: dir}, testPrefix)
	ctx := context.Background()
	for k := range keys {
		take, mark := fmt.Sprintf("tokens/p%d", k), fmt.Sprintf("spent/p%d", k)
		if _, err := s.Take(ctx, take); countWin(t, err, ErrNotFound) {
			fmt.Println("won", take)
		}
		if err := s.PutNew(ctx, mark, []byte{1}, time.Minute); countWin(t, err, ErrExists) {
			fmt.Println("won", mark)
		}
	}
}

// A Put of a value that expires is written without the storage's fsync,
// through a temporary file that no List ever shows; a value that does not
// expire, and every PutNew, are synced, their directory too.
func TestFileStorageWritesExpiring(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	var synced []string
	st := newStorage(fs, testPrefix, time.Now)
	st.ways = fileStorageSyncing(fs, func(dir string) error {
		synced = append(synced, dir)
		return syncDir(dir)
	})
	var unsynced atomic.Int32
	write := st.ways.write
	st.ways.write = func(path string, data []byte) error { unsynced.Add(1); return write(path, data) }
	ctx := context.Background()
	mustPut(t, st, "tokens/a", "short", time.Minute)
	mustPut(t, st, "keys/a", "long", 0)
	if err := st.PutNew(ctx, "spent/a", []byte("marker"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := unsynced.Load(); n != 1 {
		t.Fatalf("%d unsynced writes, want 1 (the Put of the expiring value)", n)
	}
	// Each made its directory: the parents are synced up to the storage's.
	root := filepath.Join(fs.Path, testPrefix)
	var want []string
	for _, dir := range []string{"keys", "spent"} {
		want = append(want, filepath.Join(root, dir), root, fs.Path, filepath.Dir(fs.Path))
	}
	if !slices.Equal(synced, want) {
		t.Fatalf("directories synced: %v, want %v", synced, want)
	}
	synced = nil
	if err := st.PutNew(ctx, "spent/b", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(root, "spent")}; !slices.Equal(synced, want) {
		t.Fatalf("directories synced for a write in a directory made before: %v, want %v", synced, want)
	}
	for key, want := range map[string]string{"tokens/a": "short", "keys/a": "long"} {
		if v, err := st.Get(ctx, key); err != nil || string(v) != want {
			t.Fatalf("Get(%s) = %q, %v", key, v, err)
		}
	}
	// A temporary file caught before its rename is not a key.
	tmp := filepath.Join(fs.Path, testPrefix, "tokens", ".tmp:123")
	if err := os.WriteFile(tmp, encodeEnvelope([]byte("x"), time.Now().Add(time.Minute)), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := st.List(ctx, "tokens/"); err != nil || len(keys) != 1 || keys[0] != "tokens/a" {
		t.Fatalf("List = %v, %v; want only tokens/a", keys, err)
	}
}

// Take of a file that is not the store's refuses it and leaves it in
// place; Take of a key whose path is a directory takes nothing and leaves
// the keys under it.
func TestFileStorageTakeLeavesWhatIsNotAValue(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	st := newStorage(fs, testPrefix, time.Now)
	ctx := context.Background()
	if err := fs.Store(ctx, testPrefix+"/tokens/junk", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Take(ctx, "tokens/junk"); !errors.Is(err, errBadEnvelope) {
		t.Fatalf("Take of a foreign file: %v, want a decoding error", err)
	}
	if b, err := fs.Load(ctx, testPrefix+"/tokens/junk"); err != nil || string(b) != "not an envelope" {
		t.Fatalf("the foreign file after Take: %q, %v", b, err)
	}
	mustPut(t, st, "tokens/dir/inner", "v", time.Minute)
	if _, err := st.Take(ctx, "tokens/dir"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Take of a directory: %v, want ErrNotFound", err)
	}
	if v, err := st.Get(ctx, "tokens/dir/inner"); err != nil || string(v) != "v" {
		t.Fatalf("the key under the directory: %q, %v", v, err)
	}
	if left, _ := os.ReadDir(filepath.Join(fs.Path, testPrefix, "tokens")); len(left) != 2 {
		t.Fatalf("left in tokens/: %v, want junk and dir only", left)
	}
}

// ListNames lists the keys of the file store from the directories alone:
// an expired entry and a file that is no envelope (neither of which List
// shows) are listed, temporary files and directories are not.
func TestFileStorageListNames(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	now := time.Now()
	st := newStorage(fs, testPrefix, func() time.Time { return now })
	ctx := context.Background()
	mustPut(t, st, "log/a", "v", time.Minute)
	mustPut(t, st, "log/b", "v", time.Second)
	mustPut(t, st, "log/dir/c", "v", time.Minute)
	mustPut(t, st, "other", "v", time.Minute)
	if err := fs.Store(ctx, testPrefix+"/log/junk", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fs.Path, testPrefix, "log", ".tmp:1"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute / 2) // log/b has expired
	names, err := st.ListNames(ctx, "log/")
	if err != nil || strings.Join(names, " ") != "log/a log/b log/dir/c log/junk" {
		t.Fatalf("ListNames = %v, %v; want log/a log/b log/dir/c log/junk", names, err)
	}
	if names, err := st.List(ctx, "log/"); err != nil || strings.Join(names, " ") != "log/a log/dir/c" {
		t.Fatalf("List = %v, %v; want log/a log/dir/c", names, err)
	}
	if names, err := st.ListNames(ctx, "none/"); err != nil || len(names) != 0 {
		t.Fatalf("ListNames of nothing = %v, %v", names, err)
	}
}

// A key's path that became a directory between claimFile's look and its
// rename is put back whole, and reads as no value.
func TestFileClaimPutsBackADirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := os.MkdirAll(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dir", "inner"), []byte("v"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := claimRenamed(filepath.Join(dir, "dir"), func([]byte) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("claim of a directory: %v, want ErrNotExist", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "dir", "inner")); err != nil || string(b) != "v" {
		t.Fatalf("the file under the directory: %q, %v", b, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("left in tokens/: %v, want dir only", left)
	}
}

// A sweep removes the temporary files a stopped process left, once they
// are an hour old, and no other file.
func TestFileStorageSweepsLeftovers(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	st := newStorage(fs, testPrefix, time.Now)
	mustPut(t, st, "tokens/live", "v", time.Minute)
	dir := filepath.Join(fs.Path, testPrefix, "tokens")
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{".tmp:1", ".take:2", ".tmp:new"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if name != ".tmp:new" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != ".tmp:new live" {
		t.Fatalf("left after the sweep: %v, want .tmp:new and live", left)
	}
}

// A synced write returns once its directory was synced after its rename:
// the sync sees the whole file under its name. Writes that come while a
// sync runs share the next one, one sync per directory; each write gets
// its own directory's error.
func TestSyncedWritesShareDirectorySyncs(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, dir := range []string{a, b} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var syncs [][]string // per sync: its directory, then the files seen in it
		w := &syncedWriter{root: root, syncDir: func(dir string) error {
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			seen := []string{dir}
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil || string(data) != e.Name() {
					return fmt.Errorf("%s holds %q, %v", e.Name(), data, err)
				}
				seen = append(seen, e.Name())
			}
			syncs = append(syncs, seen)
			if len(syncs) == 1 {
				<-release
			}
			if dir == b {
				return errors.New("b cannot be synced")
			}
			return nil
		}}
		ctx := context.Background()
		write := func(dir, name string) error { return w.write(ctx, filepath.Join(dir, name), []byte(name)) }
		first := make(chan error, 1)
		go func() { first <- write(a, "f0") }()
		synctest.Wait() // f0's sync under way
		later := make(chan error, 6)
		for i := 1; i <= 5; i++ {
			go func() { later <- write(a, fmt.Sprintf("f%d", i)) }()
		}
		synctest.Wait()
		inB := make(chan error, 1)
		go func() { inB <- write(b, "g") }()
		synctest.Wait() // all six wait for the next sync
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if err := <-later; err != nil {
				t.Fatal(err)
			}
		}
		if err := <-inB; err == nil || !strings.Contains(err.Error(), "b cannot be synced") {
			t.Fatalf("the write in b: %v, want b's sync error", err)
		}
		want := [][]string{{a, "f0"}, {a, "f0", "f1", "f2", "f3", "f4", "f5"}, {b, "g"}}
		if !slices.EqualFunc(syncs, want, slices.Equal) {
			t.Fatalf("syncs: %v, want %v", syncs, want)
		}
	})
}

// A PutNew whose directory cannot be synced fails: a spent marker that
// might not outlive a power loss is not taken as written.
func TestFileStoragePutNewFailsUnsynced(t *testing.T) {
	fs := &certmagic.FileStorage{Path: t.TempDir()}
	st := newStorage(fs, testPrefix, time.Now)
	st.ways = fileStorageSyncing(fs, func(dir string) error { return errors.New("the disk is gone") })
	ctx := context.Background()
	if err := st.PutNew(ctx, "spent/a", nil, time.Minute); err == nil || !strings.Contains(err.Error(), "the disk is gone") {
		t.Fatalf("PutNew = %v, want the sync's error", err)
	}
	if err := st.Put(ctx, "keys/a", []byte("v"), 0); err == nil {
		t.Fatal("Put of a value that does not expire succeeded unsynced")
	}
	if err := st.Put(ctx, "tokens/a", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Put of an expiring value: %v (it is not synced)", err)
	}
}

// BenchmarkSyncedWrite is one synced write alone, as a login at 1
// concurrent makes it: "file" syncs the file before its rename, as
// certmagic's storage does; "file+dir" is the syncedWriter's write, which
// syncs the directory after the rename too. Their difference is what
// a name on the disk costs a write nobody shares a sync with.
func BenchmarkSyncedWrite(b *testing.B) {
	value := encodeEnvelope([]byte{1}, time.Now().Add(time.Hour))
	for _, way := range []string{"file", "file+dir"} {
		b.Run(way, func(b *testing.B) {
			dir := b.TempDir()
			w := &syncedWriter{root: dir, syncDir: syncDir}
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				name := filepath.Join(dir, fmt.Sprint(i))
				var err error
				if way == "file" {
					_, err = putFile(name, value, true)
				} else {
					err = w.write(ctx, name, value)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
