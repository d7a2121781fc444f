package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// The stored projects' record and this instance's copy of it (see
// projects.go for how instances learn of a change).

// projectIndex is the record of every stored project, by slug.
type projectIndex struct {
	Projects map[string]storedProject `json:"projects"`
}

// ProjectBook is the projects made at run time: their changes, and one
// instance's copy of them (the roster's Stored).
type ProjectBook struct {
	r      *Roster
	poll   singleflight.Group
	mu     sync.RWMutex
	epoch  string
	polled time.Time // zero: never read
	read   bool      // the record was read once at least
	since  time.Time // when it was read last (see aged)
	index  map[string]storedProject
	bySlug map[string]*Project
}

// all are the stored projects by slug, at most ProjectsTTL old.
// A store that fails leaves the last copy read (logged), and an error only
// if there is none.
func (b *ProjectBook) all(ctx context.Context) (map[string]*Project, error) {
	r := b.r
	c := b
	now := r.now()
	c.mu.RLock()
	fresh := !c.polled.IsZero() && now.Sub(c.polled) < ProjectsTTL && !now.Before(c.polled)
	by := c.bySlug
	c.mu.RUnlock()
	if fresh {
		return by, nil
	}
	_, err, _ := c.poll.Do("projects", func() (any, error) {
		err := b.refresh(context.WithoutCancel(ctx), now)
		if err != nil {
			r.log.Error("reading the stored projects", zap.Error(err))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.polled = now // a failing store too is asked again only a ProjectsTTL later
		if err != nil && !c.read {
			return nil, fmt.Errorf("%w: reading the stored projects: %v", ErrUnavailable, err)
		}
		return nil, nil
	})
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bySlug, err
}

// refresh reads the epoch and, when it changed or the copy is
// maxEpochMemoryAge old at now, the record (so a change whose epoch write
// failed reaches every instance within that). A project whose record is
// as it was keeps its *Project, so that what is kept by project (the key
// memory, the key check's answers) stays valid.
func (b *ProjectBook) refresh(ctx context.Context, now time.Time) error {
	r := b.r
	epoch, err := r.st.Get(ctx, projectEpochName)
	if errors.Is(err, store.ErrNotFound) {
		epoch, err = nil, nil
	}
	if err != nil {
		return err
	}
	c := b
	c.mu.RLock()
	same := c.read && c.epoch == string(epoch) && !aged(c.since, now)
	c.mu.RUnlock()
	if same {
		return nil
	}
	idx, err := readProjectIndex(ctx, r.st)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	by := make(map[string]*Project, len(idx.Projects))
	for slug, sp := range idx.Projects {
		if CheckSlug(slug) != nil || CheckRepo(sp.Repo) != nil {
			continue // not written by this relay: trusted for nothing
		}
		if prev, ok := c.index[slug]; ok && prev == sp && c.bySlug[slug] != nil {
			by[slug] = c.bySlug[slug]
			continue
		}
		by[slug] = sp.project(slug)
	}
	c.epoch, c.index, c.bySlug, c.read, c.since = string(epoch), idx.Projects, by, true, now
	return nil
}

// forget has this instance read the stored projects again at
// their next lookup: it changed them.
func (b *ProjectBook) forget() {
	b.mu.Lock()
	b.polled = time.Time{}
	b.epoch = "\x00changed here" // no epoch read matches it
	b.mu.Unlock()
}

// readProjectIndex reads the record of the stored projects.
func readProjectIndex(ctx context.Context, st store.Store) (projectIndex, error) {
	idx := projectIndex{Projects: map[string]storedProject{}}
	data, err := st.Get(ctx, projectsName)
	if errors.Is(err, store.ErrNotFound) {
		return idx, nil
	}
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, fmt.Errorf("the stored projects' record: %v", err)
	}
	if idx.Projects == nil {
		idx.Projects = map[string]storedProject{}
	}
	return idx, nil
}

// change rewrites the stored projects' record with what next
// makes of it, under a lock shared by every instance, then the epoch.
func (b *ProjectBook) change(ctx context.Context, next func(idx *projectIndex) error) error {
	r := b.r
	unlock, err := lockRecord(ctx, r.st, projectsLockName, "the projects are being changed elsewhere; try again")
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := readProjectIndex(ctx, r.st)
	if err != nil {
		return err
	}
	if err := next(&idx); err != nil {
		return err
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := r.st.Put(ctx, projectsName, data, 0); err != nil {
		return err
	}
	b.forget()
	if err := r.st.Put(ctx, projectEpochName, []byte(newGeneration()), 0); err != nil {
		return fmt.Errorf("the projects changed, but other instances were not told (%v): they see the change within a minute", err)
	}
	return nil
}
