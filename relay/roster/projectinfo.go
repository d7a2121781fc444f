package roster

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"
)

// ProjectSlugs are the slugs of every project served: the
// configuration's and those made at run time, sorted.
func (r *Roster) ProjectSlugs(ctx context.Context) ([]string, error) {
	made, err := r.made.all(ctx)
	out := r.Configured()
	for slug := range made {
		if r.projects[slug] == nil {
			out = append(out, slug)
		}
	}
	sort.Strings(out)
	return out, err
}

// ProjectInfo describes a project for the admin API.
type ProjectInfo struct {
	Slug    string `json:"slug"`
	ID      string `json:"id"`
	Account string `json:"account"`
	Repo    string `json:"repo"`
	Plan    string `json:"plan"`
	// Source is "config" (the Caddyfile: read-only at run time) or
	// "store" (made at run time).
	Source string `json:"source"`
	// Shadowed marks a stored project of a slug the Caddyfile has too:
	// the Caddyfile's is served.
	Shadowed bool `json:"shadowed,omitempty"`
	// Origins are its callback origins, configured and stored.
	Origins   []string  `json:"origins"`
	Created   time.Time `json:"created,omitzero"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Infos lists the projects: the configuration's, then those made
// at run time, each group by slug.
func (b *ProjectBook) Infos(ctx context.Context) ([]ProjectInfo, error) {
	r := b.r
	if _, err := b.all(ctx); err != nil {
		return nil, err
	}
	idx, err := readProjectIndex(ctx, r.st)
	if err != nil {
		return nil, err
	}
	out := []ProjectInfo{}
	for _, slug := range r.Configured() {
		info, err := b.info(ctx, r.projects[slug])
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slugs := make([]string, 0, len(idx.Projects))
	for slug := range idx.Projects {
		slugs = append(slugs, slug)
	}
	sort.Strings(slugs)
	for _, slug := range slugs {
		if CheckSlug(slug) != nil || CheckRepo(idx.Projects[slug].Repo) != nil {
			continue
		}
		info, err := b.info(ctx, idx.Projects[slug].project(slug))
		if err != nil {
			return nil, err
		}
		info.Shadowed = r.projects[slug] != nil
		out = append(out, info)
	}
	return out, nil
}

// Info describes the project slug names.
func (b *ProjectBook) Info(ctx context.Context, slug string) (ProjectInfo, error) {
	r := b.r
	p, err := r.mustProject(ctx, slug)
	if err != nil {
		return ProjectInfo{}, err
	}
	return b.info(ctx, p)
}

func (b *ProjectBook) info(ctx context.Context, p *Project) (ProjectInfo, error) {
	r := b.r
	info := ProjectInfo{Slug: p.Slug, ID: p.ID, Account: p.Account, Repo: p.RepoOwner + "/" + p.RepoSlug,
		Plan: "free", Source: "config", Origins: []string{}, Created: p.Created, CreatedBy: p.CreatedBy}
	if p.Pro {
		info.Plan = "pro"
	}
	if p.Stored {
		info.Source = "store"
	}
	for _, o := range p.Targets.Origins {
		info.Origins = append(info.Origins, o.String())
	}
	stored, err := readOrigins(ctx, r.st, p.Slug)
	if err != nil {
		return info, err
	}
	info.Origins = append(info.Origins, stored...)
	return info, nil
}

// ProjectChangeStatus is the HTTP status that answers a project change's
// error: 400 for bad input, 409 for a slug taken or of the Caddyfile, 404
// for none, 503 for a store that failed.
func ProjectChangeStatus(err error) int {
	switch {
	case errors.Is(err, ErrBadProject):
		return http.StatusBadRequest
	case errors.Is(err, ErrProjectExists), errors.Is(err, ErrProjectConfigured):
		return http.StatusConflict
	case errors.Is(err, ErrUnknownProject):
		return http.StatusNotFound
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
