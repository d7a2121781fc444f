package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Key management. A project has one active key in the store. Creating one
// shows it once; only its hash and prefix are kept. Rotating replaces it,
// so the old key fails at once on every instance (each key check reads the
// record), and sessions minted under it end at their next refresh.

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
	key, hash, prefix, err := NewKey()
	if err != nil {
		return "", KeyInfo{}, err
	}
	rec := keyRecord{Hash: hash, Prefix: prefix, Created: n.cfg.Now().UTC().Truncate(time.Second)}
	data, err := json.Marshal(rec)
	if err != nil {
		return "", KeyInfo{}, err
	}
	if rotate {
		err = n.cfg.Store.Put(ctx, keyRecordName(project), data, 0)
	} else if err = n.cfg.Store.PutNew(ctx, keyRecordName(project), data, 0); errors.Is(err, store.ErrExists) {
		err = ErrKeyExists
	}
	if err != nil {
		return "", KeyInfo{}, err
	}
	return key, KeyInfo{Project: project, Prefix: prefix, Created: rec.Created}, nil
}

// RevokeKey deletes project's key: it and its sessions stop working.
func (n *Native) RevokeKey(ctx context.Context, project string) error {
	if n.projects[project] == nil {
		return ErrUnknownProject
	}
	return n.cfg.Store.Delete(ctx, keyRecordName(project))
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
		out = append(out, KeyInfo{Project: slug, Prefix: rec.Prefix, Created: rec.Created})
	}
	return out, nil
}
