package roster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Key management. A project has one active key in the store. Creating one
// shows it once; only its hash and prefix are kept. Rotating replaces it,
// so the old key fails at once on this instance and within KeyRecheck
// (default 1s) on every other (keymemory.go), and sessions minted under it
// end at their next refresh or parser call.
//
// Two records per key: "keys/<project>" (the active key's hash, prefix and
// generation) and "keyhash/<hash>" (the project it belongs to), so that a
// key check is one read whatever the key: an unknown key costs the read of
// a record that is not there, never a scan of every project.

// ErrKeyExists is a create for a project that has a key: rotate instead.
var ErrKeyExists = errors.New("the project has a key already; rotate it to replace it")

// KeyInfo describes a stored key without revealing it.
type KeyInfo struct {
	Project string    `json:"project"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
}

// keyRecord is what the store keeps of a project's key.
type keyRecord struct {
	Hash    string    `json:"hash,omitempty"`
	Prefix  string    `json:"prefix,omitempty"`
	Created time.Time `json:"created"`
	// Gen names the key generation sessions are minted under. It is drawn
	// anew at every create, rotate and revoke, so generations only move
	// forward: a session a key change ended never matches again.
	Gen string `json:"gen,omitempty"`
	// Revoked marks a tombstone: the project has no stored key, but the
	// record stays, with its own generation, so that revoking a key does
	// not revive the sessions an earlier key change ended.
	Revoked bool `json:"revoked,omitempty"`
}

func (rec keyRecord) active() bool { return !rec.Revoked && rec.Hash != "" }

// generation is rec's key generation. Records written before generations
// were stored are named by their hash, as sessions minted then are.
func (rec keyRecord) generation() string {
	if rec.Gen != "" {
		return rec.Gen
	}
	if len(rec.Hash) >= 16 {
		return rec.Hash[:16]
	}
	return "none"
}

// declaredGeneration is the generation of a project that never had a
// stored key: its sessions were minted with a key_sha256 key.
const declaredGeneration = "declared"

// CreateKey makes a key for project and returns it, to be shown once.
// With rotate false it refuses a project that has a key; with rotate true
// it replaces the key, revoking the old one.
func (r *Roster) CreateKey(ctx context.Context, project string, rotate bool) (string, KeyInfo, error) {
	if _, err := r.mustProject(ctx, project); err != nil {
		return "", KeyInfo{}, err
	}
	key, hash, prefix, err := relay.NewKey()
	if err != nil {
		return "", KeyInfo{}, err
	}
	rec := keyRecord{Hash: hash, Prefix: prefix, Created: r.now().UTC().Truncate(time.Second), Gen: newGeneration()}
	e := audit.Event{Kind: audit.KeyCreated, Project: project, KeyPrefix: prefix, What: "created the key " + prefix + "…"}
	err = r.changeKey(ctx, project, func(prev keyRecord, found bool) (keyRecord, error) {
		if !rotate && found && prev.active() {
			return rec, ErrKeyExists
		}
		if found && prev.active() {
			e.Kind, e.What = audit.KeyRotated, "rotated the key "+prev.Prefix+"… to "+prefix+"…"
		}
		// The hash record first: a key whose record is written is found
		// on every instance at once, and a hash record whose key record
		// never got written names a key that is not the project's.
		data, _ := json.Marshal(project)
		return rec, r.st.Put(ctx, keyHashName(hash), data, 0)
	})
	if err != nil {
		return "", KeyInfo{}, err
	}
	r.events.Record(ctx, e)
	return key, KeyInfo{Project: project, Prefix: prefix, Created: rec.Created}, nil
}

// RevokeKey ends project's stored key and every session of the project:
// it leaves a tombstone with a new generation. Keys declared with
// key_sha256 keep working.
func (r *Roster) RevokeKey(ctx context.Context, project string) error {
	if _, err := r.mustProject(ctx, project); err != nil {
		return err
	}
	e := audit.Event{Kind: audit.KeyRevoked, Project: project, What: "revoked the key (there was no stored key)"}
	err := r.changeKey(ctx, project, func(prev keyRecord, found bool) (keyRecord, error) {
		if found && prev.active() {
			e.KeyPrefix, e.What = prev.Prefix, "revoked the key "+prev.Prefix+"…"
		}
		return keyRecord{Revoked: true, Created: r.now().UTC().Truncate(time.Second), Gen: newGeneration()}, nil
	})
	if err == nil {
		r.events.Record(ctx, e)
	}
	return err
}

// changeKey replaces project's key record with what next returns, under a
// lock shared by every instance, so that a create never overwrites a key
// another instance has just made. The replaced key's hash record goes.
func (r *Roster) changeKey(ctx context.Context, project string, next func(prev keyRecord, found bool) (keyRecord, error)) error {
	unlock, err := lockRecord(ctx, r.st, keyLockName(project), "the key of "+project+" is being changed elsewhere; try again")
	if err != nil {
		return err
	}
	defer unlock()
	prev, err := readKeyRecord(ctx, r.st, project)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	rec, err := next(prev, found)
	if err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := r.st.Put(ctx, KeyRecordName(project), data, 0); err != nil {
		return err
	}
	if found && prev.Hash != "" && prev.Hash != rec.Hash {
		// Only tidiness: a stale hash record names a key that is not its
		// project's record, and is refused as unknown.
		if err := r.st.Delete(ctx, keyHashName(prev.Hash)); err != nil {
			r.log.Warn("removing a replaced key's hash record", zap.String("project", project), zap.Error(err))
		}
	}
	// This instance forgets its keys at once, every other one at its next
	// read of the epoch.
	// The epoch is written after the key records, so an instance that
	// reads the new epoch then reads the new records.
	r.keys.forget()
	r.gens.forget()
	if err := r.st.Put(ctx, keyEpochName, []byte(newGeneration()), 0); err != nil {
		// The change holds here and in the store, but other instances
		// keep accepting the old key and its sessions until their memory
		// ages (maxEpochMemoryAge): an error, so that the operator
		// changes it again.
		return fmt.Errorf("the key of %s changed, but other instances were not told (%v) and may accept the old key and its sessions for a minute more: rotate or revoke it again", project, err)
	}
	return nil
}

// keyLockTTL bounds how long a crashed instance can hold a project's keys.
const keyLockTTL = 30 * time.Second

func newGeneration() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ListKeys returns the stored key of each project that has one.
func (r *Roster) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	slugs, err := r.ProjectSlugs(ctx)
	if err != nil {
		return nil, err
	}
	for _, slug := range slugs {
		rec, err := readKeyRecord(ctx, r.st, slug)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the key of %s: %v", slug, err)
		}
		if rec.active() {
			out = append(out, KeyInfo{Project: slug, Prefix: rec.Prefix, Created: rec.Created})
		}
	}
	return out, nil
}

// ProjectForKey finds the project whose active key this is. A declared key,
// a stored key in the memory and a key the memory holds as unknown
// (keymemory.go) cost no store read while the memory is fresh; reading the
// epoch once a KeyRecheck keeps it so.
// Any other hash costs the read of its hash record (absent for an unknown
// key), and a second read to confirm it against its project's record, which
// names the active key, so that a rotated or revoked key is never confirmed.
// Once every key has its hash record, a hash the hash index lacks costs
// instead a share of one read of the epoch (keyindex.go).
func (r *Roster) ProjectForKey(ctx context.Context, key string) (*Project, error) {
	if relay.CheckKeyFormat(key) != nil {
		return nil, relay.ErrMalformedKey
	}
	h := relay.HashKey(key)
	if p := r.declared[h]; p != nil {
		return p, nil
	}
	now := r.now()
	l := r.keys.lookup(h, now, r.recheck)
	if !l.fresh {
		if err := r.keys.refresh(context.WithoutCancel(ctx), r.st, now); err != nil {
			return nil, err
		}
		l = r.keys.lookup(h, now, r.recheck)
	}
	switch {
	case l.project != nil:
		return l.project, nil
	case l.unknown:
		return nil, relay.ErrMalformedKey
	}
	if r.migrated.Load() {
		exists, err := r.keys.mayExist(ctx, r.st, h, now)
		if err != nil {
			return nil, err
		}
		if !exists {
			r.keys.rememberUnknown(h, l.version)
			return nil, relay.ErrMalformedKey
		}
	}
	p, err := r.projectOfHash(ctx, h)
	if p == nil {
		if errors.Is(err, relay.ErrMalformedKey) {
			r.keys.rememberUnknown(h, l.version)
		}
		return nil, err
	}
	rec, err := readKeyRecord(ctx, r.st, p.Slug)
	switch {
	case err == nil && rec.active() && relay.SameHash(rec.Hash, h):
		r.keys.remember(h, p, l.version)
		return p, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	// A hash record left by a replaced key.
	r.keys.rememberUnknown(h, l.version)
	return nil, relay.ErrMalformedKey
}

// projectOfHash reads the hash record of h. It returns nil and
// errMalformedKey for a hash no record names.
func (r *Roster) projectOfHash(ctx context.Context, h string) (*Project, error) {
	data, err := r.st.Get(ctx, keyHashName(h))
	if errors.Is(err, store.ErrNotFound) && !r.migrated.Load() {
		if _, err, _ := r.migrate.Do("hash records", func() (any, error) { return nil, r.writeHashRecords(ctx) }); err != nil {
			return nil, err
		}
		data, err = r.st.Get(ctx, keyHashName(h))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, relay.ErrMalformedKey
	}
	if err != nil {
		return nil, err
	}
	var slug string
	if json.Unmarshal(data, &slug) != nil {
		return nil, relay.ErrMalformedKey
	}
	p, err := r.Project(ctx, slug)
	if p == nil && err == nil {
		err = relay.ErrMalformedKey
	}
	return p, err
}

// writeHashRecords gives every active key record its hash record, once per
// instance: keys stored before hash records existed keep working.
func (r *Roster) writeHashRecords(ctx context.Context) error {
	for _, p := range r.projects {
		rec, err := readKeyRecord(ctx, r.st, p.Slug)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !rec.active()) {
			continue
		}
		if err != nil {
			return err
		}
		data, _ := json.Marshal(p.Slug)
		if err := r.st.PutNew(ctx, keyHashName(rec.Hash), data, 0); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	r.migrated.Store(true)
	return nil
}

// readKeyRecord reads slug's key record.
func readKeyRecord(ctx context.Context, st store.Store, slug string) (keyRecord, error) {
	var rec keyRecord
	data, err := st.Get(ctx, KeyRecordName(slug))
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(data, &rec)
}

// StoredKey is project's active stored key, without the key itself;
// false when the project has none.
func (r *Roster) StoredKey(ctx context.Context, project string) (KeyInfo, bool, error) {
	if _, err := r.mustProject(ctx, project); err != nil {
		return KeyInfo{}, false, err
	}
	rec, err := readKeyRecord(ctx, r.st, project)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rec.active()) {
		return KeyInfo{}, false, nil
	}
	if err != nil {
		return KeyInfo{}, false, err
	}
	return KeyInfo{Project: project, Prefix: rec.Prefix, Created: rec.Created}, true, nil
}
