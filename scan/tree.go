package scan

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Entry is one item of a directory listing.
type Entry struct {
	// Name is the item's name within its directory.
	Name string
	// Dir is true for a directory.
	Dir bool
	// Size is the file's size in bytes, or -1 if the listing does not say.
	Size int64
}

// Tree is a repository at one commit, read-only. Paths are slash-separated
// and relative to the repository root; "" is the root. The relay implements
// it over GitHub's API; tests use MapTree.
type Tree interface {
	// List returns the entries of directory dir.
	List(ctx context.Context, dir string) ([]Entry, error)
	// Read returns the contents of file p.
	Read(ctx context.Context, p string) ([]byte, error)
}

// MapTree is an in-memory Tree: file path to contents. Directories are
// implied by the paths.
type MapTree map[string]string

// List implements Tree.
func (m MapTree) List(_ context.Context, dir string) ([]Entry, error) {
	prefix := ""
	if dir != "" {
		prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	seen := map[string]bool{}
	var out []Entry
	for p, body := range m {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		e := Entry{Name: name, Dir: isDir, Size: -1}
		if !isDir {
			e.Size = int64(len(body))
		}
		out = append(out, e)
	}
	if len(out) == 0 && dir != "" {
		return nil, fmt.Errorf("listing %q: %w", dir, fs.ErrNotExist)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Read implements Tree.
func (m MapTree) Read(_ context.Context, p string) ([]byte, error) {
	body, ok := m[path.Clean(p)]
	if !ok {
		return nil, fmt.Errorf("reading %q: %w", p, fs.ErrNotExist)
	}
	return []byte(body), nil
}

var _ Tree = MapTree(nil)

// PathTree is a Tree over a full list of file paths known up front, as
// GitHub's recursive git tree API gives them in one call, with contents read
// on demand. Listing costs no call at all; only documents are fetched.
type PathTree struct {
	dirs map[string][]Entry
	read func(ctx context.Context, p string) ([]byte, error)
}

// NewPathTree indexes files (path to size in bytes, -1 if unknown) once;
// read fetches one file's contents.
func NewPathTree(files map[string]int64, read func(ctx context.Context, p string) ([]byte, error)) *PathTree {
	t := &PathTree{dirs: map[string][]Entry{"": nil}, read: read}
	seenDir := map[string]bool{"": true}
	for p, size := range files {
		p = strings.Trim(p, "/")
		if p == "" {
			continue
		}
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		t.dirs[dir] = append(t.dirs[dir], Entry{Name: name, Size: size})
		// Record each ancestor as a directory entry of its parent, once.
		for dir != "" && !seenDir[dir] {
			seenDir[dir] = true
			parent, base := path.Split(dir)
			parent = strings.TrimSuffix(parent, "/")
			t.dirs[parent] = append(t.dirs[parent], Entry{Name: base, Dir: true, Size: -1})
			dir = parent
		}
	}
	for _, es := range t.dirs {
		sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	}
	return t
}

// List implements Tree.
func (t *PathTree) List(_ context.Context, dir string) ([]Entry, error) {
	es, ok := t.dirs[strings.Trim(dir, "/")]
	if !ok {
		return nil, fmt.Errorf("listing %q: %w", dir, fs.ErrNotExist)
	}
	return es, nil
}

// Read implements Tree.
func (t *PathTree) Read(ctx context.Context, p string) ([]byte, error) {
	return t.read(ctx, p)
}

var _ Tree = (*PathTree)(nil)
