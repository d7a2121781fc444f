package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// keyLocks is an in-process mutex per key, taken before the storage lock.
//
// The storage lock alone would be correct, but each look at it is a file
// created or read (or a network round trip, for other storages). Queueing
// the goroutines of one process here first leaves at most one of them
// polling the storage lock, and lets the others see with one read that the
// entry they wanted is gone.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sem  chan struct{} // holds one token while locked
	refs int           // goroutines holding or waiting; guarded by keyLocks.mu
}

// lock blocks until key is locked in this process or ctx is done.
func (k *keyLocks) lock(ctx context.Context, key string) error {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyLock)
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{sem: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		k.release(key, l)
		return ctx.Err()
	}
}

// unlock releases key, which the caller must hold.
func (k *keyLocks) unlock(key string) {
	k.mu.Lock()
	l := k.m[key]
	k.mu.Unlock()
	<-l.sem
	k.release(key, l)
}

// release drops one reference and forgets the key when none is left, so the
// map holds only keys in use rather than every token ever taken.
func (k *keyLocks) release(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
}

// lockName is a hash of the path: storages use lock names as file names
// (certmagic's file storage also lowercases them and drops any character
// outside [a-z0-9_.-]), so the key itself could collide or be refused.
func (st *storageStore) lockName(key string) string {
	sum := sha256.Sum256([]byte(st.path(key)))
	return "outstatic_store_" + hex.EncodeToString(sum[:16])
}

// withLocks runs fn holding the in-process lock and then the storage lock
// for key. If precheck is given, it runs after the in-process lock and again
// each time the storage lock is found held, and a non-nil result is
// returned at once: it answers from a plain read whatever needs no storage
// lock to answer (the token is gone, the marker is there).
func (st *storageStore) withLocks(ctx context.Context, key string, precheck, fn func() error) error {
	if err := st.locks.lock(ctx, key); err != nil {
		return err
	}
	defer st.locks.unlock(key)
	if precheck != nil {
		if err := precheck(); err != nil {
			return err
		}
	}
	name := st.lockName(key)
	if err := st.lockStorage(ctx, key, name, precheck); err != nil {
		return err
	}
	// Unlocked even if ctx is done by then. An unlock error is not
	// returned: the work is done, and a left-over lock goes stale.
	defer func() { _ = st.ways.locker.Unlock(context.WithoutCancel(ctx), name) }()
	return fn()
}

// lockAttempt bounds one call to the storage lock. A storage's own lock
// may look at a held lock again only once a second (certmagic's lock files
// do; Caddy's file storage is locked with flock instead, see flockLocker),
// so a process that lost a race would wait whole seconds, one more for
// each process ahead of it. Bounding each call and asking again lets it look every 50 to 100ms
// and give up as soon as precheck says the lock is no longer needed. (It
// also keeps each call from counting eight sightings of a half-written lock
// file, after which that storage treats the lock as stale.)
const lockAttempt = 50 * time.Millisecond

// lockStorage takes the storage lock name for key, calling precheck
// between attempts.
func (st *storageStore) lockStorage(ctx context.Context, key, name string, precheck func() error) error {
	for {
		// The jitter keeps waiters from asking in step.
		attempt, cancel := context.WithTimeout(ctx, lockAttempt+rand.N(lockAttempt))
		err := st.ways.locker.Lock(attempt, name)
		timedOut := attempt.Err() != nil
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("store: locking %q: %w", key, ctx.Err())
		case !timedOut:
			return fmt.Errorf("store: locking %q: %w", key, err)
		}
		if precheck != nil {
			if err := precheck(); err != nil {
				return err
			}
		}
	}
}
