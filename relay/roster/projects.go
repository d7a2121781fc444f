package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Projects made at run time. Beside the configuration's projects, the
// relay serves projects the operator makes while it runs (the admin API,
// `caddy outstatic project`, the Projects page), kept in the store: one
// record, "projects", holds them all, and every change rewrites it under a
// lock, then writes a new random "projectepoch". Each instance keeps its
// copy of the record and trusts it for ProjectsTTL; then one request reads
// the epoch again (one small read a ProjectsTTL, whatever the load and
// however many slugs are asked for, known or not), and the record only when
// the epoch changed. So a project made on one instance is served by every
// other within ProjectsTTL, with no reload, and a flood of unknown slugs
// costs no more than one known one.
//
// The configuration wins: a project of the Caddyfile shadows a stored one
// of the same slug, and no door changes or deletes it at run time. A
// stored project's callback origins are its stored origins (origins.go),
// which its owners change on the API Keys page; its owner is its first
// stored member, added by the one rule of member changes.

// ProjectsTTL bounds how stale an instance's view of the stored projects
// is.
const ProjectsTTL = time.Second

// The classes of a project change's refusal (a *Refusal), and
// ErrUnknownProject.
var (
	// ErrBadProject: a slug, repository, plan, origin or owner that
	// breaks its rule.
	ErrBadProject = errors.New("invalid project")
	// ErrProjectExists: a create of a slug that is taken.
	ErrProjectExists = errors.New("the project exists already")
	// ErrProjectConfigured: a change of a project of the configuration.
	ErrProjectConfigured = errors.New("the project is in the Caddyfile")
)

// ProjectSpec is a project as a door names it: the Caddyfile's project
// block and JSON (through the root package's RelayProject), and the doors
// that make one at run time.
type ProjectSpec struct {
	Slug string
	// Repo is the GitHub repository, owner/name.
	Repo string
	// Plan is pro or free; "" is pro.
	Plan string
	// Origins are the project's callback origins: at least one.
	Origins []string
	// Owner, if set, is the GitHub login or e-mail address of the
	// project's first member, its owner (run time only).
	Owner string
}

// Check is the one rule of a project, for every door that names one: the
// slug by CheckSlug, the repository by CheckRepo, each callback origin by
// validate.ParseOrigin (at least one), the plan by CheckPlan and the owner
// by CheckMember. Its errors name the project and the rule broken, and
// are a *Refusal of class ErrBadProject naming the field.
func (s ProjectSpec) Check() error {
	bad := func(field, format string, args ...any) error {
		return &Refusal{Class: ErrBadProject, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if err := CheckSlug(s.Slug); err != nil {
		return bad("slug", "%v", err)
	}
	if s.Repo == "" {
		return bad("repo", "project %s needs repo <owner>/<name>", s.Slug)
	}
	if err := CheckRepo(s.Repo); err != nil {
		return bad("repo", "project %s: %v", s.Slug, err)
	}
	if len(s.Origins) == 0 {
		return bad("origin", "project %s needs at least one callback_origin", s.Slug)
	}
	for _, o := range s.Origins {
		if _, err := validate.ParseOrigin(o); err != nil {
			return bad("origin", "project %s: %v", s.Slug, err)
		}
	}
	if s.Plan != "" {
		if err := CheckPlan(s.Plan); err != nil {
			return bad("plan", "project %s: %v", s.Slug, err)
		}
	}
	if s.Owner != "" {
		if _, err := CheckMember(s.Owner, "owner"); err != nil {
			return bad("owner", "project %s: owner: %v", s.Slug, err)
		}
	}
	return nil
}

// CheckRepo accepts owner/name.
func CheckRepo(repo string) error {
	if owner, name, ok := strings.Cut(repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("repo %q: want owner/name", repo)
	}
	return nil
}

// CheckPlan accepts pro or free.
func CheckPlan(plan string) error {
	if plan != "pro" && plan != "free" {
		return fmt.Errorf("plan %q: want pro or free", plan)
	}
	return nil
}

// storedProject is what the store keeps of a project made at run time.
type storedProject struct {
	Repo    string    `json:"repo"`
	Plan    string    `json:"plan"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"`
}

// project is the Project it describes.
func (sp storedProject) project(slug string) *Project {
	owner, name, _ := strings.Cut(sp.Repo, "/")
	return &Project{Slug: slug, ID: slug, Account: owner, RepoOwner: owner, RepoSlug: name,
		Pro: sp.Plan != "free", Members: map[string]string{}, Stored: true, Created: sp.Created, CreatedBy: sp.By}
}

// projectIndex is the record of every stored project, by slug.
type projectIndex struct {
	Projects map[string]storedProject `json:"projects"`
}

// projectCache is one instance's copy of the stored projects.
type projectCache struct {
	poll   singleflight.Group
	mu     sync.RWMutex
	epoch  string
	polled time.Time // zero: never read
	read   bool      // the record was read once at least
	index  map[string]storedProject
	bySlug map[string]*Project
}

// madeProjects are the stored projects by slug, at most ProjectsTTL old.
// A store that fails leaves the last copy read (logged), and an error only
// if there is none.
func (r *Roster) madeProjects(ctx context.Context) (map[string]*Project, error) {
	c := &r.made
	now := r.now()
	c.mu.RLock()
	fresh := !c.polled.IsZero() && now.Sub(c.polled) < ProjectsTTL && !now.Before(c.polled)
	by := c.bySlug
	c.mu.RUnlock()
	if fresh {
		return by, nil
	}
	_, err, _ := c.poll.Do("projects", func() (any, error) {
		err := r.refreshProjects(context.WithoutCancel(ctx))
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

// refreshProjects reads the epoch and, when it changed, the record. A
// project whose record is as it was keeps its *Project, so that what is
// kept by project (the key memory, the key check's answers) stays valid.
func (r *Roster) refreshProjects(ctx context.Context) error {
	epoch, err := r.st.Get(ctx, projectEpochName)
	if errors.Is(err, store.ErrNotFound) {
		epoch, err = nil, nil
	}
	if err != nil {
		return err
	}
	c := &r.made
	c.mu.RLock()
	same := c.read && c.epoch == string(epoch)
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
	c.epoch, c.index, c.bySlug, c.read = string(epoch), idx.Projects, by, true
	return nil
}

// forgetProjects has this instance read the stored projects again at
// their next lookup: it changed them.
func (r *Roster) forgetProjects() {
	r.made.mu.Lock()
	r.made.polled = time.Time{}
	r.made.epoch = "\x00changed here" // no epoch read matches it
	r.made.mu.Unlock()
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

// changeProjects rewrites the stored projects' record with what next
// makes of it, under a lock shared by every instance, then the epoch.
func (r *Roster) changeProjects(ctx context.Context, next func(idx *projectIndex) error) error {
	unlock, err := r.lock(ctx, projectsLockName, "the projects are being changed elsewhere; try again")
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
	r.forgetProjects()
	if err := r.st.Put(ctx, projectEpochName, []byte(newGeneration()), 0); err != nil {
		return fmt.Errorf("the projects changed, but other instances were not told (%v): they see the change only after their next change", err)
	}
	return nil
}

// refuseProject records a refused change of the project slug (taken, or
// the Caddyfile's) and returns its refusal.
func (r *Roster) refuseProject(ctx context.Context, slug string, by Actor, class error, format string, args ...any) error {
	return r.recordRefusal(ctx, slug, by, &Refusal{Class: class, Field: "slug", Reason: fmt.Sprintf(format, args...)})
}

// recordRefusal records err, a refused project change, and returns it.
// A slug that breaks its rule is recorded with the relay's own events.
func (r *Roster) recordRefusal(ctx context.Context, slug string, by Actor, err error) error {
	if CheckSlug(slug) != nil {
		slug = ""
	}
	r.record(ctx, audit.Event{Kind: audit.ChangeRefused, Project: slug, By: by.Name, Operator: by.Operator,
		Reason: err.Error(), What: "project change refused: " + err.Error()})
	return err
}

// CreateProject makes a project at run time, asked by by: spec is checked
// by its rule, its slug must be free (in the configuration and the store),
// its origins become the project's stored callback origins, and its owner,
// if named, its first member, added by the one rule as by. A slug used by
// a project deleted before starts afresh: no members, invitations or
// origins of the old one carry over, and no session of it works again.
func (r *Roster) CreateProject(ctx context.Context, spec ProjectSpec, by Actor) (*Project, error) {
	if err := spec.Check(); err != nil {
		return nil, r.recordRefusal(ctx, spec.Slug, by, err)
	}
	if r.projects[spec.Slug] != nil {
		return nil, r.refuseProject(ctx, spec.Slug, by, ErrProjectConfigured,
			"project %s is in the Caddyfile, which wins over the store: change it there", spec.Slug)
	}
	origins := make([]string, len(spec.Origins))
	for i, raw := range spec.Origins {
		o, _ := validate.ParseOrigin(raw)
		origins[i] = o.String()
	}
	if spec.Plan == "" {
		spec.Plan = "pro"
	}
	sp := storedProject{Repo: spec.Repo, Plan: spec.Plan, Created: r.now().UTC().Truncate(time.Second), By: by.Name}
	err := r.changeProjects(ctx, func(idx *projectIndex) error {
		if prev, ok := idx.Projects[spec.Slug]; ok {
			return r.refuseProject(ctx, spec.Slug, by, ErrProjectExists,
				"project %s exists already (made %s by %s): pick another slug, or delete it first", spec.Slug, prev.Created.Format(time.RFC3339), prev.By)
		}
		// What an earlier project of this slug left is not the new one's.
		if _, err := r.clearProjectState(ctx, spec.Slug); err != nil {
			return err
		}
		data, _ := json.Marshal(origins)
		if err := r.st.Put(ctx, originsName(spec.Slug), data, 0); err != nil {
			return err
		}
		r.forgetOrigins(spec.Slug)
		idx.Projects[spec.Slug] = sp
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.record(ctx, audit.Event{Kind: audit.ProjectCreated, Project: spec.Slug, By: by.Name, Operator: by.Operator,
		What: fmt.Sprintf("created project %s (%s, %s) with callback origins %s", spec.Slug, spec.Repo, spec.Plan, strings.Join(origins, ", "))})
	p, err := r.mustProject(ctx, spec.Slug)
	if err != nil {
		return nil, err
	}
	if spec.Owner != "" {
		if _, err := r.AddMember(ctx, spec.Slug, spec.Owner, "owner", by); err != nil {
			return p, fmt.Errorf("project %s is made, but its owner was not added (%w): add them with caddy outstatic member add", spec.Slug, err)
		}
	}
	return p, nil
}

// DeleteProject removes a project made at run time, asked by by: its key
// is revoked (a tombstone stays, so that a project made later with the
// slug never revives a session of this one), and its members, invitations
// and stored origins go; every session of it ends at its next call. A
// project of the configuration is refused.
func (r *Roster) DeleteProject(ctx context.Context, slug string, by Actor) error {
	if r.projects[slug] != nil {
		return r.refuseProject(ctx, slug, by, ErrProjectConfigured,
			"project %s is in the Caddyfile (read-only at run time): remove its block there", slug)
	}
	if err := CheckSlug(slug); err != nil {
		return r.recordRefusal(ctx, slug, by, &Refusal{Class: ErrBadProject, Field: "slug", Reason: err.Error()})
	}
	err := r.changeProjects(ctx, func(idx *projectIndex) error {
		if _, ok := idx.Projects[slug]; !ok {
			return refuse(ErrUnknownProject, "no project %s in the store", slug)
		}
		if err := r.changeKey(ctx, slug, func(keyRecord, bool) (keyRecord, error) {
			return keyRecord{Revoked: true, Created: r.now().UTC().Truncate(time.Second), Gen: newGeneration()}, nil
		}); err != nil {
			return err
		}
		delete(idx.Projects, slug)
		return nil
	})
	if err != nil {
		return err
	}
	gone, err := r.clearProjectState(ctx, slug)
	r.record(ctx, audit.Event{Kind: audit.ProjectDeleted, Project: slug, By: by.Name, Operator: by.Operator,
		What: fmt.Sprintf("deleted project %s: its key revoked, %s removed", slug, gone)})
	if err != nil {
		return fmt.Errorf("project %s is deleted, but some of its records remain (%v): they are cleared when the slug is used again", slug, err)
	}
	return nil
}

// clearProjectState removes slug's stored members, invitations and
// origins, and says what went.
func (r *Roster) clearProjectState(ctx context.Context, slug string) (string, error) {
	rec, err := readMembers(ctx, r.st, slug)
	if err != nil {
		return "", err
	}
	origins, err := readOrigins(ctx, r.st, slug)
	if err != nil {
		return "", err
	}
	invites, err := r.st.List(ctx, invitePrefix(slug))
	if err != nil {
		return "", err
	}
	for _, name := range append(invites, membersName(slug), originsName(slug)) {
		if err := r.st.Delete(ctx, name); err != nil {
			return "", err
		}
	}
	r.members.mu.Lock()
	delete(r.members.m, slug)
	r.members.mu.Unlock()
	r.forgetOrigins(slug)
	return fmt.Sprintf("%d members, %d invitations, %d callback origins", len(rec.Members), len(invites), len(origins)), nil
}

// ProjectSlugs are the slugs of every project served: the
// configuration's and those made at run time, sorted.
func (r *Roster) ProjectSlugs(ctx context.Context) ([]string, error) {
	made, err := r.madeProjects(ctx)
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

// ProjectInfos lists the projects: the configuration's, then those made
// at run time, each group by slug.
func (r *Roster) ProjectInfos(ctx context.Context) ([]ProjectInfo, error) {
	if _, err := r.madeProjects(ctx); err != nil {
		return nil, err
	}
	idx, err := readProjectIndex(ctx, r.st)
	if err != nil {
		return nil, err
	}
	out := []ProjectInfo{}
	for _, slug := range r.Configured() {
		info, err := r.projectInfo(ctx, r.projects[slug])
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
		info, err := r.projectInfo(ctx, idx.Projects[slug].project(slug))
		if err != nil {
			return nil, err
		}
		info.Shadowed = r.projects[slug] != nil
		out = append(out, info)
	}
	return out, nil
}

// ProjectInfoOf describes the project slug names.
func (r *Roster) ProjectInfoOf(ctx context.Context, slug string) (ProjectInfo, error) {
	p, err := r.mustProject(ctx, slug)
	if err != nil {
		return ProjectInfo{}, err
	}
	return r.projectInfo(ctx, p)
}

func (r *Roster) projectInfo(ctx context.Context, p *Project) (ProjectInfo, error) {
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
