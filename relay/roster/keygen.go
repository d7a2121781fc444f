package roster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Key generations from memory, checked against the key epoch at every use.
// A session names the key generation it was minted under, and every step
// of it (exchange, refresh, parser) must see the project's generation as it
// is now, on whichever instance it comes to. Every key change writes the
// key record, then a new key epoch (keys.go): so an instance that read a
// project's record after it read epoch E knows the generation for as long
// as the epoch is still E. Each step reads the epoch, one small read sent
// in the same batch as the step's own store operations (the exchange
// token's take, the family's markers), and answers from memory while the
// epoch is the one it remembers; a new epoch costs one read of the record.
// A key change takes effect when its epoch is written: if that write fails,
// the change returns an error, and the other instances keep the old
// generation until the memory is maxEpochMemoryAge old (keymemory.go),
// when each project's record is read again.

// generationMemory is the generations read under one key epoch.
type generationMemory struct {
	mu    sync.Mutex
	epoch string            // the epoch the generations were read under
	since time.Time         // when the first of them was read (see aged)
	gens  map[string]string // slug → generation
	// version counts forgets: a generation read before a key change of
	// this instance is not remembered after it.
	version uint64
}

// KeyEpoch is one read of the key epoch, sent in a batch with other store
// operations (Op), after which Generation answers projects' key
// generations as of it.
type KeyEpoch struct {
	// Op reads the epoch; pass it to the store's Batch.
	Op      *store.Op
	r       *Roster
	version uint64
}

// KeyEpoch returns a read of the key epoch, to run in a store batch.
func (r *Roster) KeyEpoch() KeyEpoch {
	r.gens.mu.Lock()
	defer r.gens.mu.Unlock()
	return KeyEpoch{Op: store.GetOp(keyEpochName), r: r, version: r.gens.version}
}

// Generation identifies p's current key generation, so that a session
// minted under one generation ends at the next key change: from memory
// when the epoch the batch read is the one its generations were read
// under, else by reading p's key record. The error is the store's.
func (e KeyEpoch) Generation(ctx context.Context, p *Project) (string, error) {
	epoch, err := e.Op.Value, e.Op.Err
	if errors.Is(err, store.ErrNotFound) {
		epoch, err = nil, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the key epoch: %w", err)
	}
	m := &e.r.gens
	now := e.r.now()
	m.mu.Lock()
	gen, ok := m.gens[p.Slug]
	current := m.epoch == string(epoch) && !aged(m.since, now)
	m.mu.Unlock()
	if ok && current {
		return gen, nil
	}
	gen, err = readGeneration(ctx, e.r.st, p.Slug)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version == e.version {
		if m.epoch != string(epoch) || m.gens == nil || aged(m.since, now) {
			m.epoch, m.since, m.gens = string(epoch), now, map[string]string{}
		}
		m.gens[p.Slug] = gen
	}
	return gen, nil
}

// forget empties the memory: a key of this instance changed.
func (m *generationMemory) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gens = nil
	m.version++
}

// KeyGeneration is p's current key generation (see KeyEpoch.Generation),
// for a caller with no other store operation to send with the epoch's.
func (r *Roster) KeyGeneration(ctx context.Context, p *Project) (string, error) {
	e := r.KeyEpoch()
	r.st.Batch(ctx, e.Op)
	return e.Generation(ctx, p)
}

// readGeneration reads slug's key generation from its key record.
func readGeneration(ctx context.Context, st store.Store, slug string) (string, error) {
	rec, err := readKeyRecord(ctx, st, slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return declaredGeneration, nil
	case err != nil:
		return "", err
	}
	return rec.generation(), nil
}
