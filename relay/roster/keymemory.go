package roster

import (
	"context"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// The key check from memory. Every key change (create, rotate, revoke, on
// any instance) writes a new random value to one record, "keyepoch", after
// the key records it changes. An instance remembers the stored key hashes
// it has confirmed active, and trusts that memory for as long as the epoch
// it last read is less than KeyRecheck old (default 1s); then one request
// reads the epoch again (one read a second per instance, whatever the load
// and however many projects), and a changed epoch empties the memory. So a
// known key costs no store read, and a key changed on one instance is
// refused by every other within KeyRecheck; a change made here empties this
// instance's memory at once.
//
// A key the memory does not hold costs what it did without the memory: the
// read of its hash record, and a second read to confirm it against its
// project's record; or, if the hash index (keyindex.go) shows it has no
// record, a share of one read of the epoch. A key found unknown that way is
// remembered as unknown under the same rules (emptied with the rest at a
// key change here or a new epoch), so a key sent again and again, a site
// left with a revoked key or a scanner repeating itself, costs no read. At
// most MaxUnknownKeys are remembered: past that, each new one replaces the
// oldest, so a flood of made-up keys cannot grow the memory; it only makes
// each of them cost its share of a read (keyindex.go).
//
// Whatever the epoch says, nothing read under it is kept longer than
// maxEpochMemoryAge: the memory is emptied at the first read of the epoch
// after that, the generations (keygen.go) and the hash index (keyindex.go)
// read again. A key change whose epoch write failed (changeKey returns
// the error) therefore still reaches every instance within that time.

// DefaultKeyRecheck is how long the key memory is trusted without reading
// the epoch again, unless configured.
const DefaultKeyRecheck = time.Second

// MaxUnknownKeys bounds how many unknown key hashes an instance remembers.
const MaxUnknownKeys = 4096

// maxEpochMemoryAge is the longest an instance keeps what it read under
// one key epoch (known and unknown keys, generations, the hash index)
// before reading it again, even if the epoch has not changed.
const maxEpochMemoryAge = time.Minute

// aged says whether a memory filled at since is past maxEpochMemoryAge at
// now (or now is before since: the clock went back).
func aged(since, now time.Time) bool {
	return now.Before(since) || now.Sub(since) >= maxEpochMemoryAge
}

// keyMemory maps stored key hashes confirmed active to their project, and
// remembers hashes found unknown.
type keyMemory struct {
	reads freshReads // of the epoch
	index hashIndex  // of the hash records (keyindex.go)

	mu     sync.RWMutex
	epoch  string    // the epoch read last
	polled time.Time // when; zero: read it before trusting the memory
	since  time.Time // when the memory was last emptied (see aged)
	// version counts the times the memory was emptied: a confirmation
	// that began before an emptying is not remembered, as it may have
	// read a record the change replaced.
	version uint64
	byHash  map[string]*Project
	unknown map[string]struct{} // at most MaxUnknownKeys
	// arrived lists unknown's hashes in the order they came, from
	// arrived[oldest] on: past MaxUnknownKeys, the oldest goes.
	arrived []string
	oldest  int
}

// keyLookup is what the memory says of a key hash.
type keyLookup struct {
	project *Project // the hash's project, if remembered active
	unknown bool     // the hash is remembered unknown
	version uint64   // the memory's version, to hand to remember
	fresh   bool     // the memory may be trusted
}

// lookup says what the memory holds of h, if it is fresh at now.
func (m *keyMemory) lookup(h string, now time.Time, recheck time.Duration) keyLookup {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := keyLookup{version: m.version}
	l.fresh = !m.polled.IsZero() && now.Sub(m.polled) < recheck && !now.Before(m.polled)
	if l.fresh {
		l.project = m.byHash[h]
		_, l.unknown = m.unknown[h]
	}
	return l
}

// remember records h as the active key of p, unless the memory was emptied
// since version.
func (m *keyMemory) remember(h string, p *Project, version uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version != version {
		return
	}
	if m.byHash == nil {
		m.byHash = map[string]*Project{}
	}
	m.byHash[h] = p
}

// rememberUnknown records h as no key's, unless the memory was emptied
// since version. When the memory holds MaxUnknownKeys, h replaces the
// oldest of them.
func (m *keyMemory) rememberUnknown(h string, version uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version != version {
		return
	}
	if m.unknown == nil {
		m.unknown = map[string]struct{}{}
	}
	if _, ok := m.unknown[h]; ok {
		return
	}
	if len(m.arrived) < MaxUnknownKeys {
		m.arrived = append(m.arrived, h)
	} else {
		delete(m.unknown, m.arrived[m.oldest])
		m.arrived[m.oldest] = h
		m.oldest = (m.oldest + 1) % MaxUnknownKeys
	}
	m.unknown[h] = struct{}{}
}

// empty forgets every key; the caller holds mu.
func (m *keyMemory) empty() {
	m.byHash = nil
	m.unknown, m.arrived, m.oldest = nil, nil, 0
	m.version++
}

// forget empties the memory and has the next check read the epoch: a key
// of this instance changed.
func (m *keyMemory) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.empty()
	m.polled = time.Time{}
}

// refresh reads the epoch, one read at a time shared by the callers
// waiting for it, and empties the memory if it changed.
func (m *keyMemory) refresh(ctx context.Context, st store.Store, now time.Time) error {
	_, err := m.readEpoch(ctx, st, now)
	return err
}

// readEpoch reads the epoch as refresh does and returns it.
func (m *keyMemory) readEpoch(ctx context.Context, st store.Store, now time.Time) (string, error) {
	data, err := m.reads.do(ctx, func(ctx context.Context) ([]byte, error) { return readKeyEpoch(ctx, st) })
	if err != nil {
		return "", err
	}
	epoch := string(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	if epoch != m.epoch || m.polled.IsZero() || aged(m.since, now) {
		// Also after forget: a confirmation may have started between
		// the change and the forget.
		m.epoch, m.since = epoch, now
		m.empty()
	}
	m.polled = now
	return epoch, nil
}

// mayExist says whether hash h may have a hash record, by a read of the
// epoch begun after the call and the hash index (keyindex.go): false only
// if no key changed since the index was listed and it lacks h. A stale
// index is listed again by one caller; the others answer true meanwhile.
func (m *keyMemory) mayExist(ctx context.Context, st store.Store, h string, now time.Time) (bool, error) {
	epoch, err := m.readEpoch(ctx, st, now)
	if err != nil {
		return false, err
	}
	if m.index.stale(epoch, now) {
		hashes, err := listHashes(context.WithoutCancel(ctx), st)
		m.index.built(epoch, now, hashes, err == nil)
	}
	return m.index.mayExist(h, epoch, now), nil
}
