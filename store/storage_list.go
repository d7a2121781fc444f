package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// List implements Store.
func (st *storageStore) List(ctx context.Context, prefix string) ([]string, error) {
	if st.err != nil {
		return nil, st.err
	}
	if err := validateListPrefix(prefix); err != nil {
		return nil, err
	}
	keys, _, err := st.scan(ctx, prefix, false)
	return keys, err
}

// Sweep implements Sweeper.
func (st *storageStore) Sweep(ctx context.Context) (int, error) {
	if st.err != nil {
		return 0, st.err
	}
	_, removed, err := st.scan(ctx, "", true)
	return removed, err
}

// ListNames implements NameLister. On Caddy's file storage the keys are
// the names of the files, read from their directories alone; on another
// storage it is List.
func (st *storageStore) ListNames(ctx context.Context, prefix string) ([]string, error) {
	if st.ways.names == nil {
		return st.List(ctx, prefix)
	}
	if st.err != nil {
		return nil, st.err
	}
	if err := validateListPrefix(prefix); err != nil {
		return nil, err
	}
	names, err := st.paths(ctx, prefix)
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for _, name := range names {
		if key, ok := st.listedKey(name, prefix); ok {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// paths lists the storage paths under the deepest whole directory prefix
// names (storages list by path; listedKey then filters by the string
// prefix): on Caddy's file storage the files, from the directories'
// entries alone (certmagic's List also looks at each); elsewhere what the
// storage lists. Nothing there is no path.
func (st *storageStore) paths(ctx context.Context, prefix string) ([]string, error) {
	dir := st.prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir += "/" + prefix[:i]
	}
	var names []string
	var err error
	if st.ways.names != nil {
		names, err = st.ways.names(dir)
	} else {
		names, err = st.s.List(ctx, dir, true)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing %q: %w", prefix, err)
	}
	return names, nil
}

// listedKey is the key a listed storage path names, if it is one and
// starts with prefix.
func (st *storageStore) listedKey(name, prefix string) (string, bool) {
	key, ok := strings.CutPrefix(filepath.ToSlash(name), st.prefix+"/")
	if !ok || !strings.HasPrefix(key, prefix) || ValidateKey(key) != nil {
		return "", false
	}
	return key, true
}

// scan lists the live keys that start with prefix. With sweep set, it
// removes the expired entries it meets and counts them.
func (st *storageStore) scan(ctx context.Context, prefix string, sweep bool) (keys []string, removed int, err error) {
	names, err := st.paths(ctx, prefix)
	if err != nil {
		return nil, 0, err
	}
	keys = []string{}
	now := st.now()
	for _, name := range names {
		if sweep && isLeftover(name) {
			if err := st.removeLeftover(ctx, name); err != nil {
				return nil, removed, err
			}
			continue
		}
		key, ok := st.listedKey(name, prefix)
		if !ok {
			continue
		}
		e, ok, err := st.load(ctx, key)
		if errors.Is(err, errBadEnvelope) {
			// Not ours, or a storage's temporary file caught mid-write.
			continue
		}
		if err != nil {
			return nil, removed, err
		}
		if !ok {
			continue // a directory, or removed since listed
		}
		if e.expired(now) {
			if sweep {
				gone, err := st.removeExpired(ctx, key)
				if err != nil {
					return nil, removed, err
				}
				if gone {
					removed++
				}
			}
			continue
		}
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys, removed, nil
}

// leftoverAge is how old a temporary file of the file storage's writes or
// claims (see putFile, claimFile) must be before a sweep removes it:
// one is left only by a process that stopped between its two steps.
const leftoverAge = time.Hour

// isLeftover says whether name is one of those temporary files. The ':'
// in their names keeps them from ever reading as keys.
func isLeftover(name string) bool {
	base := filepath.Base(filepath.FromSlash(name))
	return strings.HasPrefix(base, ".tmp:") || strings.HasPrefix(base, ".take:")
}

// removeLeftover removes the temporary file name if it is leftoverAge old.
func (st *storageStore) removeLeftover(ctx context.Context, name string) error {
	info, err := st.s.Stat(ctx, name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.now().Sub(info.Modified) < leftoverAge) {
		return nil
	}
	if err == nil {
		err = st.s.Delete(ctx, name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: removing the leftover %q: %w", name, err)
	}
	return nil
}
