package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Stored callback origins. A project's callback origins are those of the
// Caddyfile and those its owners added on the API Keys page (or with the
// admin API), kept in the store under "origins/<project>". targets is the
// one place that joins them: every check of a callback, and the parser's
// CORS, reads it. Each instance caches a project's stored origins for at
// most OriginsTTL, so an origin added on one instance is accepted on every
// other within that time.

// OriginsTTL bounds how stale an instance's view of stored origins is.
const OriginsTTL = time.Second

// ErrOriginExists is an add of an origin the project already has.
var ErrOriginExists = errors.New("this is already one of the project's callback origins")

// ErrOriginConfigured is a remove of an origin of the configuration.
var ErrOriginConfigured = errors.New("this callback origin is in the Caddyfile: remove it there")

// ErrOriginUnknown is a remove of an origin the project does not have.
var ErrOriginUnknown = errors.New("no such stored callback origin")

// OriginRefused is an origin AddOrigin refuses: it breaks a rule of
// validate.ParseOrigin, or the project has it already. Its text says
// which, for the person who entered it.
type OriginRefused struct{ Err error }

// Error is the reason, for the person who entered the origin.
func (e *OriginRefused) Error() string { return e.Err.Error() }

// Unwrap is the rule's error, or ErrOriginExists.
func (e *OriginRefused) Unwrap() error { return e.Err }

// OriginList is what a project accepts callbacks for.
type OriginList struct {
	// Configured are the Caddyfile's origins, read-only.
	Configured []string `json:"configured"`
	// Stored are the origins added since, removable.
	Stored []string `json:"stored"`
}

// originCache is one instance's recent view of the stored origins.
type originCache struct {
	mu sync.Mutex
	by map[string]cachedOrigins
}

type cachedOrigins struct {
	at      time.Time
	origins []validate.Origin
}

// targets are p's callback origins: the Caddyfile's and the stored ones.
// A store that fails leaves the Caddyfile's, and is logged.
func (r *Roster) Targets(ctx context.Context, p *Project) validate.Targets {
	stored, err := r.stored.read(ctx, r.st, p.Slug, r.now())
	if err != nil {
		r.log.Error("reading stored callback origins", zap.String("project", p.Slug), zap.Error(err))
	}
	if len(stored) == 0 {
		return p.Targets
	}
	t := p.Targets
	t.Origins = append(slices.Clip(t.Origins), stored...)
	return t
}

// AllTargets are every project's origins, for the parser's preflights.
func (r *Roster) AllTargets(ctx context.Context) validate.Targets {
	t := r.origins
	slugs, err := r.ProjectSlugs(ctx)
	if err != nil {
		r.log.Error("reading the projects for a preflight", zap.Error(err))
	}
	for _, slug := range slugs {
		stored, _ := r.stored.read(ctx, r.st, slug, r.now())
		t.Origins = append(slices.Clip(t.Origins), stored...)
	}
	return t
}

// read reads slug's stored origins from st, at most OriginsTTL old at now.
func (oc *originCache) read(ctx context.Context, st store.Store, slug string, now time.Time) ([]validate.Origin, error) {
	oc.mu.Lock()
	c, ok := oc.by[slug]
	oc.mu.Unlock()
	if ok && now.Sub(c.at) < OriginsTTL && !now.Before(c.at) {
		return c.origins, nil
	}
	raw, err := readOrigins(ctx, st, slug)
	if err != nil {
		return c.origins, err
	}
	var out []validate.Origin
	for _, s := range raw {
		// Stored origins were parsed when added; one that no longer
		// parses (a stricter rule) is dropped, not trusted.
		if o, err := validate.ParseOrigin(s); err == nil {
			out = append(out, o)
		}
	}
	oc.mu.Lock()
	if oc.by == nil {
		oc.by = map[string]cachedOrigins{}
	}
	oc.by[slug] = cachedOrigins{at: now, origins: out}
	oc.mu.Unlock()
	return out, nil
}

// readOrigins reads slug's stored origins.
func readOrigins(ctx context.Context, st store.Store, slug string) ([]string, error) {
	data, err := st.Get(ctx, originsName(slug))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("stored callback origins of %s: %v", slug, err)
	}
	return out, nil
}

// Origins lists project's callback origins.
func (r *Roster) Origins(ctx context.Context, project string) (OriginList, error) {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return OriginList{}, err
	}
	out := OriginList{Configured: []string{}, Stored: []string{}}
	for _, o := range p.Targets.Origins {
		out.Configured = append(out.Configured, o.String())
	}
	stored, err := readOrigins(ctx, r.st, project)
	if err != nil {
		return OriginList{}, err
	}
	out.Stored = append(out.Stored, stored...)
	return out, nil
}

// AddOrigin adds raw to project's stored callback origins and returns its
// canonical form. A raw that breaks a rule, or is there already, gets an
// *OriginRefused whose text can be shown as it is.
func (r *Roster) AddOrigin(ctx context.Context, project, raw string) (string, error) {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return "", err
	}
	o, err := validate.ParseOrigin(raw)
	if err != nil {
		return "", &OriginRefused{err}
	}
	canon := o.String()
	if slices.ContainsFunc(p.Targets.Origins, func(c validate.Origin) bool { return c.String() == canon }) {
		return "", &OriginRefused{ErrOriginExists}
	}
	err = r.changeOrigins(ctx, project, func(list []string) ([]string, error) {
		if slices.Contains(list, canon) {
			return nil, &OriginRefused{ErrOriginExists}
		}
		return append(list, canon), nil
	})
	if err != nil {
		return "", err
	}
	r.events.Record(ctx, audit.Event{Kind: audit.OriginAdded, Project: project, Origin: canon, What: "added the callback origin " + canon})
	return canon, nil
}

// RemoveOrigin removes raw from project's stored callback origins.
func (r *Roster) RemoveOrigin(ctx context.Context, project, raw string) error {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return err
	}
	canon := raw
	if o, err := validate.ParseOrigin(raw); err == nil {
		canon = o.String()
	}
	if slices.ContainsFunc(p.Targets.Origins, func(c validate.Origin) bool { return c.String() == canon }) {
		return ErrOriginConfigured
	}
	err = r.changeOrigins(ctx, project, func(list []string) ([]string, error) {
		i := slices.Index(list, canon)
		if i < 0 {
			return nil, ErrOriginUnknown
		}
		return slices.Delete(list, i, i+1), nil
	})
	if err != nil {
		return err
	}
	r.events.Record(ctx, audit.Event{Kind: audit.OriginRemoved, Project: project, Origin: canon, What: "removed the callback origin " + canon})
	return nil
}

// changeOrigins rewrites project's stored origins under a lock shared by
// every instance, and forgets this instance's cached view of them.
func (r *Roster) changeOrigins(ctx context.Context, project string, next func([]string) ([]string, error)) error {
	unlock, err := lockRecord(ctx, r.st, originsLockName(project), "the callback origins of "+project)
	if err != nil {
		return err
	}
	defer unlock()
	list, err := readOrigins(ctx, r.st, project)
	if err != nil {
		return err
	}
	list, err = next(list)
	if err != nil {
		return err
	}
	data, err := json.Marshal(list)
	if err != nil {
		return err
	}
	if err := r.st.Put(ctx, originsName(project), data, 0); err != nil {
		return err
	}
	r.stored.forget(project)
	return nil
}

// forget drops this instance's view of project's stored origins.
func (c *originCache) forget(project string) {
	c.mu.Lock()
	delete(c.by, project)
	c.mu.Unlock()
}
