package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/caddyserver/certmagic"
)

// NewStorage returns a Store kept in s, Caddy's configured storage, with
// every key under "<prefix>/<key>". prefix follows the rules of ValidateKey;
// if it does not, every method returns the error.
//
// Values are kept in a small binary envelope with their expiry, because a
// certmagic.Storage cannot expire anything. An expired entry reads as
// ErrNotFound and is removed when Get or Take meets it; the returned Store
// also implements Sweeper to remove the rest.
//
// Put and PutNew hold the storage's lock for the key, and so does Take
// except in Caddy's file storage, where it claims the file by a rename
// (see claimFile); so single use holds across instances. In Caddy's file
// storage the lock is an flock(2) on a lock file (see flockLocker), which
// excludes the other processes sharing the directory; in other storages,
// the storage's own lock. Expiry times are taken
// from the clock of the instance that writes and compared with the clock of
// the one that reads: instances sharing a storage need synchronised clocks.
// Because a storage is a tree of paths, a key cannot also be the start of
// another key's path: with "a" stored, "a/b" cannot be, and the other way
// round.
func NewStorage(s certmagic.Storage, prefix string) Store {
	return newStorage(s, prefix, time.Now)
}

// newStorage lets tests move the clock instead of sleeping past an expiry.
func newStorage(s certmagic.Storage, prefix string, now func() time.Time) *storageStore {
	st := &storageStore{s: s, prefix: prefix, now: now, ways: fileWays{locker: s}}
	if fs, ok := s.(*certmagic.FileStorage); ok {
		if ways := fileStorageWays(fs); ways.locker != nil {
			st.ways = ways
		}
	}
	if err := ValidateKey(prefix); err != nil {
		st.err = fmt.Errorf("store prefix: %w", err)
	}
	return st
}

type storageStore struct {
	s      certmagic.Storage
	prefix string
	err    error // an invalid prefix, returned by every method
	now    func() time.Time
	locks  keyLocks
	ways   fileWays
}

// fileWays are what a store in Caddy's file storage does with the files
// itself (see fileStorageWays); in another storage only locker is set, to
// the storage's own lock.
type fileWays struct {
	// locker is the storage lock: an flock (see flockLocker).
	locker certmagic.Locker
	// write, if set, writes the value of a Put that expires, in place of
	// the storage's Store (see putFile).
	write func(path string, data []byte) error
	// writeSynced, if set, writes every other value (a Put that does not
	// expire, a PutNew) in place of the storage's Store, and returns once
	// the value and its name are on the disk (see syncedWriter).
	writeSynced func(ctx context.Context, path string, data []byte) error
	// read, if set, reads a path in place of the storage's Load (see
	// readFile).
	read func(path string) ([]byte, error)
	// claim, if set, removes a path and returns what it held, atomically
	// and without a lock: Take uses it in place of a locked read and
	// delete (see claimFile).
	claim func(path string, valid func([]byte) error) ([]byte, error)
	// names, if set, lists the storage paths of the files under a path,
	// from the directories alone: ListNames uses it.
	names func(path string) ([]string, error)
}

func (st *storageStore) check(key string) error {
	if st.err != nil {
		return st.err
	}
	return ValidateKey(key)
}

func (st *storageStore) path(key string) string { return st.prefix + "/" + key }

// Put implements Store.
func (st *storageStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := st.checkPut(key, value, ttl); err != nil {
		return err
	}
	// Locked so that a Put cannot land between the read and the delete of
	// a concurrent Take (and be lost), nor between the read and the write
	// of a concurrent PutNew (and be overwritten by a "new" value).
	return st.withLocks(ctx, key, nil, func() error {
		return st.store(ctx, key, value, ttl, ttl == 0)
	})
}

// PutNew implements Store.
func (st *storageStore) PutNew(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := st.checkPut(key, value, ttl); err != nil {
		return err
	}
	live := func() error {
		e, ok, err := st.load(ctx, key)
		if err != nil {
			return err
		}
		if ok && !e.expired(st.now()) {
			return ErrExists
		}
		return nil
	}
	return st.withLocks(ctx, key, live, func() error {
		if err := live(); err != nil {
			return err
		}
		// Synced whatever its ttl: a PutNew is a spent marker or a lock,
		// whose loss could let a token be used twice.
		return st.store(ctx, key, value, ttl, true)
	})
}

// Get implements Store.
func (st *storageStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := st.check(key); err != nil {
		return nil, err
	}
	e, ok, err := st.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	if e.expired(st.now()) {
		// Best effort: the answer is ErrNotFound whether or not this works.
		_, _ = st.removeExpired(ctx, key)
		return nil, ErrNotFound
	}
	return e.value, nil
}

// Take implements Store.
func (st *storageStore) Take(ctx context.Context, key string) ([]byte, error) {
	if err := st.check(key); err != nil {
		return nil, err
	}
	if st.ways.claim != nil {
		return st.claim(key)
	}
	// A key that is absent needs no storage lock: this spares the lock to
	// the losers of a race and to anyone replaying made-up tokens.
	absent := func() error {
		_, ok, err := st.load(ctx, key)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		return nil
	}
	var value []byte
	err := st.withLocks(ctx, key, absent, func() error {
		e, ok, err := st.load(ctx, key)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		// Deleted even when expired: that is the lazy removal.
		if err := st.s.Delete(ctx, st.path(key)); err != nil {
			return fmt.Errorf("store: deleting %q: %w", key, err)
		}
		if e.expired(st.now()) {
			return ErrNotFound
		}
		value = e.value
		return nil
	})
	return value, err
}

// claim is Take by ways.claim.
func (st *storageStore) claim(key string) ([]byte, error) {
	var e envelope
	_, err := st.ways.claim(st.path(key), func(b []byte) (err error) {
		e, err = decodeEnvelope(b)
		return err
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrNotFound
	case errors.Is(err, errBadEnvelope):
		return nil, fmt.Errorf("%w: %q", err, key)
	case err != nil:
		return nil, fmt.Errorf("store: taking %q: %w", key, err)
	}
	if e.expired(st.now()) {
		return nil, ErrNotFound
	}
	return e.value, nil
}

// Delete implements Store. It takes no lock: a lone delete cannot break a
// concurrent Put, PutNew or Take, it only orders before or after it.
func (st *storageStore) Delete(ctx context.Context, key string) error {
	if err := st.check(key); err != nil {
		return err
	}
	// certmagic's Delete removes a whole directory: never let Delete("a")
	// wipe "a/b", "a/c"... when "a" itself holds no value.
	info, err := st.s.Stat(ctx, st.path(key))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.IsTerminal) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: looking up %q: %w", key, err)
	}
	if err := st.s.Delete(ctx, st.path(key)); err != nil {
		return fmt.Errorf("store: deleting %q: %w", key, err)
	}
	return nil
}

// removeExpired deletes key if, under its lock, it is still expired: it may
// have been replaced since it was read.
func (st *storageStore) removeExpired(ctx context.Context, key string) (bool, error) {
	var removed bool
	err := st.withLocks(ctx, key, nil, func() error {
		e, ok, err := st.load(ctx, key)
		if err != nil || !ok || !e.expired(st.now()) {
			return err
		}
		if err := st.s.Delete(ctx, st.path(key)); err != nil {
			return fmt.Errorf("store: deleting expired %q: %w", key, err)
		}
		removed = true
		return nil
	})
	return removed, err
}

func (st *storageStore) checkPut(key string, value []byte, ttl time.Duration) error {
	if err := st.check(key); err != nil {
		return err
	}
	if uint64(len(value)) > math.MaxUint32 {
		return fmt.Errorf("store: value of %d bytes is too large", len(value))
	}
	return checkTTL(ttl)
}

// store writes key's envelope, by ways.write or ways.writeSynced if set.
func (st *storageStore) store(ctx context.Context, key string, value []byte, ttl time.Duration, synced bool) error {
	var expires time.Time
	if ttl > 0 {
		expires = st.now().Add(ttl)
	}
	data := encodeEnvelope(value, expires)
	var err error
	switch {
	case !synced && st.ways.write != nil:
		err = st.ways.write(st.path(key), data)
	case synced && st.ways.writeSynced != nil:
		err = st.ways.writeSynced(ctx, st.path(key), data)
	default:
		err = st.s.Store(ctx, st.path(key), data)
	}
	if err != nil {
		return fmt.Errorf("store: storing %q: %w", key, err)
	}
	return nil
}

// load reads key's envelope; ok is false if nothing is stored under key.
func (st *storageStore) load(ctx context.Context, key string) (e envelope, ok bool, err error) {
	var b []byte
	if st.ways.read != nil {
		b, err = st.ways.read(st.path(key))
	} else {
		b, err = st.s.Load(ctx, st.path(key))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return envelope{}, false, nil
	}
	if err != nil {
		// Loading a directory fails with some other error; it holds no value.
		if info, serr := st.s.Stat(ctx, st.path(key)); serr == nil && !info.IsTerminal {
			return envelope{}, false, nil
		}
		return envelope{}, false, fmt.Errorf("store: loading %q: %w", key, err)
	}
	e, err = decodeEnvelope(b)
	if err != nil {
		return envelope{}, false, fmt.Errorf("%w: %q", err, key)
	}
	return e, true, nil
}

var (
	_ Store   = (*storageStore)(nil)
	_ Sweeper = (*storageStore)(nil)
)
