package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/suggest"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
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
// the epoch changed or its copy is a minute old (maxEpochMemoryAge: a
// change whose epoch write failed still arrives). So a project made on one
// instance is served by every other within ProjectsTTL, with no reload,
// and a flood of unknown slugs costs no more than one known one.
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
		return fmt.Errorf("plan %q: want pro or free%s", plan, suggest.DidYouMean(plan, "pro", "free"))
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

// refuse records a refused change of the project slug (taken, or
// the Caddyfile's) and returns its refusal.
func (b *ProjectBook) refuse(ctx context.Context, slug string, by Actor, class error, format string, args ...any) error {
	return b.recordRefusal(ctx, slug, by, &Refusal{Class: class, Field: "slug", Reason: fmt.Sprintf(format, args...)})
}

// recordRefusal records err, a refused project change, and returns it.
// A slug that breaks its rule is recorded with the relay's own events.
func (b *ProjectBook) recordRefusal(ctx context.Context, slug string, by Actor, err error) error {
	r := b.r
	if CheckSlug(slug) != nil {
		slug = ""
	}
	r.events.Record(ctx, audit.Event{Kind: audit.ChangeRefused, Project: slug, By: by.Name, Operator: by.Operator,
		Reason: err.Error(), What: "project change refused: " + err.Error()})
	return err
}

// Create makes a project at run time, asked by by: spec is checked
// by its rule, its slug must be free (in the configuration and the store),
// its origins become the project's stored callback origins, and its owner,
// if named, its first member, added by the one rule as by. A slug used by
// a project deleted before starts afresh: no members, invitations or
// origins of the old one carry over, and no session of it works again.
func (b *ProjectBook) Create(ctx context.Context, spec ProjectSpec, by Actor) (*Project, error) {
	r := b.r
	if err := spec.Check(); err != nil {
		return nil, b.recordRefusal(ctx, spec.Slug, by, err)
	}
	if r.projects[spec.Slug] != nil {
		return nil, b.refuse(ctx, spec.Slug, by, ErrProjectConfigured,
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
	err := b.change(ctx, func(idx *projectIndex) error {
		if prev, ok := idx.Projects[spec.Slug]; ok {
			return b.refuse(ctx, spec.Slug, by, ErrProjectExists,
				"project %s exists already (made %s by %s): pick another slug, or delete it first", spec.Slug, prev.Created.Format(time.RFC3339), prev.By)
		}
		// What an earlier project of this slug left is not the new one's.
		if _, err := b.clearState(ctx, spec.Slug); err != nil {
			return err
		}
		data, _ := json.Marshal(origins)
		if err := r.st.Put(ctx, originsName(spec.Slug), data, 0); err != nil {
			return err
		}
		r.stored.forget(spec.Slug)
		idx.Projects[spec.Slug] = sp
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.events.Record(ctx, audit.Event{Kind: audit.ProjectCreated, Project: spec.Slug, By: by.Name, Operator: by.Operator,
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

// Delete removes a project made at run time, asked by by: its key
// is revoked (a tombstone stays, so that a project made later with the
// slug never revives a session of this one), and its members, invitations
// and stored origins go; every session of it ends at its next call. A
// project of the configuration is refused.
func (b *ProjectBook) Delete(ctx context.Context, slug string, by Actor) error {
	r := b.r
	if r.projects[slug] != nil {
		return b.refuse(ctx, slug, by, ErrProjectConfigured,
			"project %s is in the Caddyfile (read-only at run time): remove its block there", slug)
	}
	if err := CheckSlug(slug); err != nil {
		return b.recordRefusal(ctx, slug, by, &Refusal{Class: ErrBadProject, Field: "slug", Reason: err.Error()})
	}
	err := b.change(ctx, func(idx *projectIndex) error {
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
	gone, err := b.clearState(ctx, slug)
	r.events.Record(ctx, audit.Event{Kind: audit.ProjectDeleted, Project: slug, By: by.Name, Operator: by.Operator,
		What: fmt.Sprintf("deleted project %s: its key revoked, %s removed", slug, gone)})
	if err != nil {
		return fmt.Errorf("project %s is deleted, but some of its records remain (%v): they are cleared when the slug is used again", slug, err)
	}
	return nil
}

// clearState removes slug's stored members, invitations and
// origins, and says what went.
func (b *ProjectBook) clearState(ctx context.Context, slug string) (string, error) {
	r := b.r
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
	r.stored.forget(slug)
	return fmt.Sprintf("%d members, %d invitations, %d callback origins", len(rec.Members), len(invites), len(origins)), nil
}
