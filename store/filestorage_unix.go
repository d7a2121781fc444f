//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/batching"
)

// flockLocker is the storage lock of a store kept in Caddy's file storage:
// an flock(2) on one of lockStripes lock files, instead of certmagic's lock
// files.
//
// certmagic's lock is a file created with O_EXCL, written, fsynced, kept
// fresh by a goroutine for five seconds after it is released, and judged
// stale by its age; it is made for certificates, a few a day. The store
// locks several times per login, so those fsyncs, creations and goroutines
// were most of a login's cost. An flock writes nothing, is held per open
// file (so it also excludes another store of the same process), and goes
// with the process that held it: a crash leaves no lock to wait out.
//
// Each lock name maps to one of lockStripes files, made once and kept: a
// file created and removed per lock would cost two directory changes each
// time, and creating files is what a busy disk makes slowest. Two names
// sharing a stripe only wait for each other; in this process they queue
// on the stripe's semaphore, so only cross-process waits poll the flock.
// Lock files must not be removed while Caddy runs: a lock held on a
// removed file excludes no one who comes after. A waiter that opened the
// file before its removal finds, once locked, that the path no longer
// names it, and starts again on the new one.
type flockLocker struct {
	dir     string
	stripes [lockStripes]chan struct{} // one token each while held here

	mu   sync.Mutex
	held map[string]heldLock
}

type heldLock struct {
	fd     int // the open lock file, whose close releases the flock
	stripe int
}

// lockStripes is how many lock files a store's directory holds.
const lockStripes = 256

// flockPoll is how long a lock held by another process is left before
// asking again. The caller bounds each Lock and asks its precheck between.
const flockPoll = 2 * time.Millisecond

func newFlockLocker(dir string) *flockLocker {
	l := &flockLocker{dir: dir, held: map[string]heldLock{}}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

// stripeFile is the lock file of stripe i.
func (l *flockLocker) stripeFile(i int) string {
	return filepath.Join(l.dir, fmt.Sprintf("outstatic_store_%03d.flock", i))
}

func stripeOf(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % lockStripes)
}

// Lock implements certmagic.Locker.
func (l *flockLocker) Lock(ctx context.Context, name string) error {
	i := stripeOf(name)
	// Even a done ctx gets one attempt.
	select {
	case l.stripes[i] <- struct{}{}:
	default:
		select {
		case l.stripes[i] <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		fd, err := l.lockOnce(l.stripeFile(i))
		if err != nil {
			<-l.stripes[i]
			return err
		}
		if fd >= 0 {
			l.mu.Lock()
			l.held[name] = heldLock{fd: fd, stripe: i}
			l.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			<-l.stripes[i]
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			<-l.stripes[i]
			return ctx.Err()
		case <-time.After(flockPoll):
		}
	}
}

// lockOnce tries the lock once: the locked file's descriptor, or -1 if
// another holds it.
func (l *flockLocker) lockOnce(path string) (int, error) {
	fd, err := openFD(path, syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(l.dir, 0o700); err != nil {
			return -1, err
		}
		fd, err = openFD(path, syscall.O_CREAT|syscall.O_RDWR, 0o600)
	}
	if err != nil {
		return -1, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		syscall.Close(fd)
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
			return -1, nil
		}
		return -1, fmt.Errorf("locking %s: %w", path, err)
	}
	var held, named syscall.Stat_t
	err = syscall.Fstat(fd, &held)
	if err == nil {
		if err = syscall.Stat(path, &named); err == nil && held.Dev == named.Dev && held.Ino == named.Ino {
			return fd, nil
		}
	}
	// Removed (and perhaps made again) since we opened it: start over.
	syscall.Close(fd)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return -1, fmt.Errorf("checking lock file %s: %w", path, err)
	}
	return -1, nil
}

// Unlock implements certmagic.Locker.
func (l *flockLocker) Unlock(_ context.Context, name string) error {
	l.mu.Lock()
	h, ok := l.held[name]
	delete(l.held, name)
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("unlocking %s: not locked", name)
	}
	err := closeFD(h.fd, l.stripeFile(h.stripe)) // which releases the flock
	<-l.stripes[h.stripe]
	return err
}

// fileStorageWays returns what a store in Caddy's file storage fs does
// itself rather than through the storage: its locks, its writes (those
// that must outlive a power loss synced, their directories too), its
// takes and its listing of names.
func fileStorageWays(fs *certmagic.FileStorage) fileWays { return fileStorageSyncing(fs, syncDir) }

// fileStorageSyncing is fileStorageWays with syncDir syncing the
// directories of synced writes (a test's hook, or syncDir).
func fileStorageSyncing(fs *certmagic.FileStorage, syncDir func(dir string) error) fileWays {
	synced := &syncedWriter{root: fs.Path, syncDir: syncDir}
	return fileWays{
		locker: newFlockLocker(filepath.Join(fs.Path, "locks")),
		write: func(key string, data []byte) error {
			_, err := putFile(fs.Filename(key), data, false)
			return err
		},
		writeSynced: func(ctx context.Context, key string, data []byte) error {
			return synced.write(ctx, fs.Filename(key), data)
		},
		read: func(key string) ([]byte, error) { return readFile(fs.Filename(key)) },
		claim: func(key string, valid func([]byte) error) ([]byte, error) {
			return claimFile(fs.Filename(key), valid)
		},
		names: func(key string) ([]string, error) { return fileNames(fs, key) },
	}
}

// fileNames lists the storage paths of the regular files under key in fs,
// at any depth, from the directories' entries: no file is opened or
// looked at (certmagic's List looks at each). A directory below key
// removed while it is listed holds nothing.
func fileNames(fs *certmagic.FileStorage, key string) ([]string, error) {
	root := fs.Filename(key)
	var names []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p != root && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			names = append(names, path.Join(key, filepath.ToSlash(rel)))
		}
		return nil
	})
	return names, err
}

// claimFile removes filename and returns what it held, atomically: it
// renames the file to a name of its own, which of any number of claims,
// in any number of processes, one only can do, and then reads and removes
// that. A Put, which renames a new file over filename, lands before the
// claim (and is what it takes) or after it (and stays). It needs no lock.
//
// If valid refuses what the file holds (a file that is not the store's),
// the file is put back, unless something new took its place meanwhile,
// and valid's error returned. A key whose path is a directory (it starts
// other keys' paths) holds no value: such a path is not claimed; if it
// became a directory between the look and the rename, it is put back.
func claimFile(filename string, valid func([]byte) error) ([]byte, error) {
	if info, err := os.Lstat(filename); err != nil {
		return nil, err
	} else if info.IsDir() {
		return nil, os.ErrNotExist
	}
	return claimRenamed(filename, valid)
}

// claimRenamed is claimFile after its look at filename: a directory that
// took its place since is renamed back.
func claimRenamed(filename string, valid func([]byte) error) ([]byte, error) {
	claim := filepath.Join(filepath.Dir(filename), ".take:"+rand.Text())
	if err := renameFile(filename, claim); err != nil {
		return nil, err
	}
	// Reading is the look at what was renamed: a directory reads as EISDIR.
	data, err := readFile(claim)
	if errors.Is(err, syscall.EISDIR) {
		return nil, errors.Join(os.ErrNotExist, renameFile(claim, filename))
	}
	if err == nil {
		if err = valid(data); err != nil {
			// Link, not rename: never over a file put there since.
			_ = os.Link(claim, filename)
		}
	}
	if rmErr := os.Remove(claim); err == nil {
		err = rmErr
	}
	return data, err
}

// putFile writes data to filename as certmagic's file storage does:
// into a temporary file beside it, synced if sync is set, renamed over
// it, so that a reader sees the old value or the whole new one. Unsynced,
// it is for the Put of values that expire (one-time tokens, login states,
// session records of minutes to days): what the fsync guards against, a
// power loss or kernel crash in the moment after the write, costs such a
// value no more than the sign-in or the token in flight, and a process
// crash loses nothing (the kernel has the data). Values that do not
// expire (keys, members, projects) and every PutNew (spent markers and
// locks, whose loss could let a token be used twice) are written by a
// syncedWriter. madeDirs says whether it made directories for filename.
func putFile(filename string, data []byte, sync bool) (madeDirs bool, err error) {
	dir := filepath.Dir(filename)
	// The ':' keeps a temporary file from ever reading as a key.
	tmp := filepath.Join(dir, ".tmp:"+rand.Text())
	fd, err := openFD(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, err
		}
		madeDirs = true
		fd, err = openFD(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o600)
	}
	if err != nil {
		return madeDirs, err
	}
	err = writeFD(fd, tmp, data)
	if err == nil && sync {
		err = syncFD(fd, tmp)
	}
	if cerr := closeFD(fd, tmp); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameFile(tmp, filename)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return madeDirs, err
}

// syncedWriter writes files that must outlive a power loss once written:
// the file's content is synced before it takes its name (a crash leaves the
// old value or the whole new one), and its directory after (the name itself
// is on the disk: a rename is not until its directory is synced, and
// certmagic's storage never syncs one). Concurrent writes share the
// directory syncs: a write waits for the sync under way to end and is
// then synced, with every write that came meanwhile, by the next one, which
// began after its rename (package internal/batching). Under load a write
// costs a share of one directory sync. A directory made for a write is a
// name too: its parents are synced with it, up to the storage's own.
type syncedWriter struct {
	root    string // the storage's directory
	syncDir func(dir string) error
	batches batching.Batches[*syncedFile]
}

// syncedFile is one write waiting for the syncs of its directories.
type syncedFile struct {
	dirs []string
	err  error
}

// write writes data to filename and returns once both are on the disk. If
// ctx ends while it waits for the directory's sync, it returns ctx's error:
// the file is in place and may or may not outlive a power loss.
func (w *syncedWriter) write(ctx context.Context, filename string, data []byte) error {
	madeDirs, err := putFile(filename, data, true)
	if err != nil {
		return err
	}
	dir := filepath.Dir(filename)
	mine := &syncedFile{dirs: []string{dir}}
	for top := filepath.Dir(w.root); madeDirs && dir != top && dir != filepath.Dir(dir); {
		dir = filepath.Dir(dir)
		mine.dirs = append(mine.dirs, dir)
	}
	if err := w.batches.Do(ctx, mine, w.syncDirs); err != nil {
		return err
	}
	return mine.err
}

// syncDirs syncs each directory of files once; each file gets the first
// error of its directories.
func (w *syncedWriter) syncDirs(files []*syncedFile) {
	errs := make(map[string]error, 1)
	for _, f := range files {
		for _, dir := range f.dirs {
			err, done := errs[dir]
			if !done {
				err = w.syncDir(dir)
				errs[dir] = err
			}
			if f.err == nil {
				f.err = err
			}
		}
	}
}

// syncDir syncs dir's entries to the disk.
func syncDir(dir string) error {
	fd, err := openFD(dir, syscall.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = syncFD(fd, dir)
	if cerr := closeFD(fd, dir); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing the directory %s: %w", dir, err)
	}
	return nil
}
