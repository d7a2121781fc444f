package roster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/batching"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// The refusal of a key never seen before. Without help it costs the read
// of the key's hash record: on Redis a round trip per made-up key, on the
// file store a look-up of a missing file, so a flood of random keys is a
// flood of reads. With the index below it costs a share of one read of the
// key epoch:
//
//   - the hash index holds the name of every hash record, listed after a
//     read of the epoch returned E. Every key change writes its hash
//     record before its new epoch (keys.go), so every key made before E
//     was written is in the list;
//   - a key the memory does not hold waits for a read of the epoch that
//     began after it arrived (freshReads: all the keys waiting share the
//     next read, however many). If that read returns the index's E, no
//     key changed since the list, and a hash the index lacks has no
//     record: refused, without reading it. Any other epoch, or no index,
//     and the key costs its reads as before, while one caller lists the
//     hash records again under the new epoch.
//
// A key made on any instance therefore counts on every other at once, as
// without the index: the read that judges a key began after the key's
// epoch was written. A hash in the index is only a record that exists; it
// is still read and confirmed against its project's key record, so the
// index never makes a rotated or revoked key good. Like the key memory,
// the index is listed again once it is maxEpochMemoryAge old, whatever the
// epoch: a key whose change failed to write the epoch counts within that.
// Checked one at a time, an unknown key still costs one read (the epoch's
// instead of its record's); under load, the keys arriving together share
// it.

// maxIndexedHashes bounds the index: with more hash records than this, each
// unknown key costs its read, as without the index.
const maxIndexedHashes = 100_000

// hashIndex is every hash record's hash, as listed under one key epoch.
type hashIndex struct {
	mu       sync.RWMutex
	epoch    string              // the epoch read before the listing
	at       time.Time           // when that epoch was read
	listed   bool                // a listing under epoch ended
	hashes   map[string]struct{} // nil after a listing that found too many
	building bool                // one caller lists at a time
}

// mayExist says whether h may have a hash record, as the index knows it
// under epoch at now: false only if the index was listed under epoch, is
// not aged, and lacks h.
func (x *hashIndex) mayExist(h, epoch string, now time.Time) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.current(epoch, now) || x.hashes == nil {
		return true
	}
	_, ok := x.hashes[h]
	return ok
}

// current says whether the index was listed under epoch and is not aged
// at now; the caller holds mu.
func (x *hashIndex) current(epoch string, now time.Time) bool {
	return x.listed && x.epoch == epoch && !aged(x.at, now)
}

// stale says whether the index needs listing under epoch at now, and if
// so makes the caller its one lister, who must call built.
func (x *hashIndex) stale(epoch string, now time.Time) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.building || x.current(epoch, now) {
		return false
	}
	x.building = true
	return true
}

// built ends a listing under epoch, read at at. listed false (the
// listing failed) leaves the index as it was, for the next caller to list
// again.
func (x *hashIndex) built(epoch string, at time.Time, hashes map[string]struct{}, listed bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.building = false
	if listed {
		x.epoch, x.at, x.listed, x.hashes = epoch, at, true, hashes
	}
}

// listHashes returns the hash of every hash record in st, or nil if there
// are more than maxIndexedHashes.
func listHashes(ctx context.Context, st store.Store) (map[string]struct{}, error) {
	names, err := st.List(ctx, keyHashName(""))
	if err != nil || len(names) > maxIndexedHashes {
		return nil, err
	}
	hashes := make(map[string]struct{}, len(names))
	for _, name := range names {
		hashes[strings.TrimPrefix(name, keyHashName(""))] = struct{}{}
	}
	return hashes, nil
}

// freshReads gives each caller the result of a read that began after the
// call, one read shared by every caller waiting for it (package batching).
type freshReads struct {
	batches batching.Batches[*sharedRead]
}

// sharedRead is one caller's copy of a read's result.
type sharedRead struct {
	value []byte
	err   error
}

// do returns the result of read, run after the call began. read runs
// without ctx's cancellation, as its result serves every waiter; a waiter
// whose ctx ends stops waiting.
func (f *freshReads) do(ctx context.Context, read func(context.Context) ([]byte, error)) ([]byte, error) {
	mine := &sharedRead{}
	err := f.batches.Do(ctx, mine, func(waiting []*sharedRead) {
		value, err := read(context.WithoutCancel(ctx))
		for _, w := range waiting {
			w.value, w.err = value, err
		}
	})
	if err != nil {
		return nil, err
	}
	return mine.value, mine.err
}

// readKeyEpoch reads the key epoch ("" if no key ever changed).
func readKeyEpoch(ctx context.Context, st store.Store) ([]byte, error) {
	data, err := st.Get(ctx, keyEpochName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return data, err
}
