package native

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
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

// ErrUnknownProject is a key operation for a project the relay lacks.
var ErrUnknownProject = errors.New("no such project")

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

func keyRecordName(slug string) string { return "keys/" + slug }
func keyHashName(hash string) string   { return "keyhash/" + hash }
func keyLockName(slug string) string   { return "locks/keys/" + slug }

// Projects returns the slugs of the projects the relay serves.
func (n *Native) Projects() []string {
	var out []string
	for slug := range n.projects {
		out = append(out, slug)
	}
	sort.Strings(out)
	return out
}

// CreateKey makes a key for project and returns it, to be shown once.
// With rotate false it refuses a project that has a key; with rotate true
// it replaces the key, revoking the old one.
func (n *Native) CreateKey(ctx context.Context, project string, rotate bool) (string, KeyInfo, error) {
	if n.projects[project] == nil {
		return "", KeyInfo{}, ErrUnknownProject
	}
	key, hash, prefix, err := relay.NewKey()
	if err != nil {
		return "", KeyInfo{}, err
	}
	rec := keyRecord{Hash: hash, Prefix: prefix, Created: n.cfg.Now().UTC().Truncate(time.Second), Gen: newGeneration()}
	err = n.changeKey(ctx, project, func(prev keyRecord, found bool) (keyRecord, error) {
		if !rotate && found && prev.active() {
			return rec, ErrKeyExists
		}
		// The hash record first: a key whose record is written is found
		// on every instance at once, and a hash record whose key record
		// never got written names a key that is not the project's.
		data, _ := json.Marshal(project)
		return rec, n.cfg.Store.Put(ctx, keyHashName(hash), data, 0)
	})
	if err != nil {
		return "", KeyInfo{}, err
	}
	return key, KeyInfo{Project: project, Prefix: prefix, Created: rec.Created}, nil
}

// RevokeKey ends project's stored key and every session of the project:
// it leaves a tombstone with a new generation. Keys declared with
// key_sha256 keep working.
func (n *Native) RevokeKey(ctx context.Context, project string) error {
	if n.projects[project] == nil {
		return ErrUnknownProject
	}
	return n.changeKey(ctx, project, func(keyRecord, bool) (keyRecord, error) {
		return keyRecord{Revoked: true, Created: n.cfg.Now().UTC().Truncate(time.Second), Gen: newGeneration()}, nil
	})
}

// changeKey replaces project's key record with what next returns, under a
// lock shared by every instance, so that a create never overwrites a key
// another instance has just made. The replaced key's hash record goes.
func (n *Native) changeKey(ctx context.Context, project string, next func(prev keyRecord, found bool) (keyRecord, error)) error {
	unlock, err := n.lockKeys(ctx, project)
	if err != nil {
		return err
	}
	defer unlock()
	prev, err := n.keyRecord(ctx, project)
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
	if err := n.cfg.Store.Put(ctx, keyRecordName(project), data, 0); err != nil {
		return err
	}
	if found && prev.Hash != "" && prev.Hash != rec.Hash {
		// Only tidiness: a stale hash record names a key that is not its
		// project's record, and is refused as unknown.
		if err := n.cfg.Store.Delete(ctx, keyHashName(prev.Hash)); err != nil {
			n.log.Warn("removing a replaced key's hash record", zap.String("project", project), zap.Error(err))
		}
	}
	// This instance forgets its keys at once, every other one at its next
	// read of the epoch.
	n.keys.forget()
	if err := n.bumpKeyEpoch(ctx); err != nil {
		// The change holds here and in the store, but other instances
		// may keep accepting the old key: an error, so that the operator
		// changes it again.
		return fmt.Errorf("the key of %s changed, but other instances were not told (%v) and may accept the old key: rotate or revoke it again", project, err)
	}
	return nil
}

// keyLockTTL bounds how long a crashed instance can hold a project's keys.
const keyLockTTL = 30 * time.Second

// lockKeys takes project's key lock, waiting a few seconds for it.
func (n *Native) lockKeys(ctx context.Context, project string) (func(), error) {
	return n.lockStore(ctx, keyLockName(project), "the key of "+project+" is being changed elsewhere; try again")
}

func newGeneration() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ListKeys returns the stored key of each project that has one.
func (n *Native) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	for _, slug := range n.Projects() {
		rec, err := n.keyRecord(ctx, slug)
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

// projectForKey finds the project whose active key this is. A declared key
// and a stored key in the memory (keymemory.go) cost no store read while
// the memory is fresh; reading the epoch once a KeyRecheck keeps it so.
// Any other hash costs the read of its hash record (absent for an unknown
// key), and a second read to confirm it against its project's record, which
// names the active key, so that a rotated or revoked key is never confirmed.
func (n *Native) projectForKey(ctx context.Context, key string) (*Project, error) {
	if relay.CheckKeyFormat(key) != nil {
		return nil, relay.ErrMalformedKey
	}
	h := relay.HashKey(key)
	if p := n.declared[h]; p != nil {
		return p, nil
	}
	now := n.cfg.Now()
	p, version, fresh := n.keys.lookup(h, now, n.cfg.KeyRecheck)
	if !fresh {
		if err := n.keys.refresh(context.WithoutCancel(ctx), n.cfg.Store, now); err != nil {
			return nil, err
		}
		p, version, _ = n.keys.lookup(h, now, n.cfg.KeyRecheck)
	}
	if p != nil {
		return p, nil
	}
	p, err := n.projectOfHash(ctx, h)
	if p == nil {
		return nil, err
	}
	rec, err := n.keyRecord(ctx, p.Slug)
	switch {
	case err == nil && rec.active() && relay.SameHash(rec.Hash, h):
		n.keys.remember(h, p, version)
		return p, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return nil, relay.ErrMalformedKey
}

// projectOfHash reads the hash record of h. It returns nil and
// errMalformedKey for a hash no record names.
func (n *Native) projectOfHash(ctx context.Context, h string) (*Project, error) {
	data, err := n.cfg.Store.Get(ctx, keyHashName(h))
	if errors.Is(err, store.ErrNotFound) && !n.migrated.Load() {
		if _, err, _ := n.migrate.Do("hash records", func() (any, error) { return nil, n.writeHashRecords(ctx) }); err != nil {
			return nil, err
		}
		data, err = n.cfg.Store.Get(ctx, keyHashName(h))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, relay.ErrMalformedKey
	}
	if err != nil {
		return nil, err
	}
	var slug string
	if json.Unmarshal(data, &slug) != nil || n.projects[slug] == nil {
		return nil, relay.ErrMalformedKey
	}
	return n.projects[slug], nil
}

// writeHashRecords gives every active key record its hash record, once per
// instance: keys stored before hash records existed keep working.
func (n *Native) writeHashRecords(ctx context.Context) error {
	for _, p := range n.projects {
		rec, err := n.keyRecord(ctx, p.Slug)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !rec.active()) {
			continue
		}
		if err != nil {
			return err
		}
		data, _ := json.Marshal(p.Slug)
		if err := n.cfg.Store.PutNew(ctx, keyHashName(rec.Hash), data, 0); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	n.migrated.Store(true)
	return nil
}

func (n *Native) keyRecord(ctx context.Context, slug string) (keyRecord, error) {
	var rec keyRecord
	data, err := n.cfg.Store.Get(ctx, keyRecordName(slug))
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(data, &rec)
}

// keyGeneration identifies the project's current key generation, so that
// a session minted under one generation ends at the next key change.
func (n *Native) keyGeneration(ctx context.Context, p *Project) (string, error) {
	rec, err := n.keyRecord(ctx, p.Slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return declaredGeneration, nil
	case err != nil:
		return "", err
	}
	return rec.generation(), nil
}
