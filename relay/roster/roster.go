// Package roster is who and what the native relay knows of its projects:
// the projects themselves (this file: the configuration's; projects.go:
// those made at run time, kept in the store), their keys, kept as hashes, and
// the key check from memory (keys.go, keymemory.go) and their generations
// (keygen.go), their members and roles (members.go), with the one rule of member changes
// (memberrule.go) that every change goes through (memberchanges.go),
// invitations (invitations.go) and stored callback origins (origins.go);
// every change of them is recorded in the audit log (auditlog.go, over
// package audit). Members are keyed by package identity's rule (identity.go), projects'
// records by their slug (slug.go); every name the native relay keeps in
// the store is in names.go. It does not import Caddy.
package roster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Project is a project the native relay serves.
type Project struct {
	// Slug names the project (project_slug) and its store records
	// (CheckSlug); it is also its project_id unless ID is set.
	Slug string
	ID   string
	// Account is account_slug; default: the repository owner.
	Account string
	// RepoOwner and RepoSlug name the GitHub repository; MonorepoPath is
	// passed on as monorepo_path.
	RepoOwner, RepoSlug, MonorepoPath string
	// Pro is is_pro in the key check.
	Pro bool
	// Targets are the project's callback origins.
	Targets validate.Targets
	// Members maps a GitHub login or e-mail address to a role. New keys
	// each by the identity rule (package identity: ASCII case only) and
	// refuses one that does not parse (KeyMembers).
	Members map[string]string
	// KeySHA256 are keys declared by their hash, beside the stored one.
	KeySHA256 []string
	// Stored marks a project made at run time (projects.go), kept in the
	// store; Created and CreatedBy say when and by whom.
	Stored    bool
	Created   time.Time
	CreatedBy string
}

// Mailer sends an e-mail; *mail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Config configures a roster.
type Config struct {
	// Projects are the projects served; New fills in their defaults and
	// keys their members, in place.
	Projects []*Project
	// Store keeps key records, members, invitations and origins.
	Store store.Store
	// Mailer sends invitations; default: none (the link is handed back
	// to whoever invited, to pass on).
	Mailer Mailer
	// KeyRecheck is how long a key confirmed active is trusted without
	// reading whether any key changed (default DefaultKeyRecheck): a key
	// rotated or revoked on another instance is refused here within that
	// time.
	KeyRecheck time.Duration
	// AuditLogger writes the audit log's events (in Caddy, the logger
	// outstatic.audit); default: none.
	AuditLogger *zap.Logger
	// AuditRetention is how long the store keeps audit records; default
	// audit.DefaultRetention. AuditMax bounds one project's; default
	// audit.DefaultMaxPerProject.
	AuditRetention time.Duration
	AuditMax       int
	Logger         *zap.Logger
	Now            func() time.Time
}

// Roster is the native relay's projects and who may do what in them. It
// is safe for concurrent use.
type Roster struct {
	st       store.Store
	mailer   Mailer
	recheck  time.Duration
	log      *zap.Logger
	now      func() time.Time
	projects map[string]*Project
	declared map[string]*Project // declared key hash → project
	origins  validate.Targets    // every project's configured origins, for preflights

	keys     keyMemory        // stored key hashes confirmed active → project (keymemory.go)
	gens     generationMemory // key generations by the key epoch (keygen.go)
	migrate  singleflight.Group
	migrated atomic.Bool // every key record has its hash record
	members  memberCache
	stored   originCache    // stored callback origins, briefly (origins.go)
	made     ProjectBook    // projects made at run time (projects.go)
	events   *audit.Log     // the audit log (auditlog.go)
	folded   membersLogFold // the projects whose older members log is in the audit log
}

// ErrUnknownProject is an operation for a project the relay lacks.
var ErrUnknownProject = errors.New("no such project")

// ErrUnavailable wraps a failure of the store a check depended on: the
// relay answers it 503, not as a refusal.
var ErrUnavailable = errors.New(protocol.CodeServiceUnavailable)

// New checks cfg's projects (each slug by CheckSlug, once; each member by
// KeyMembers) and builds the roster.
func New(cfg Config) (*Roster, error) {
	if cfg.Store == nil {
		return nil, errors.New("a store is required")
	}
	if cfg.KeyRecheck <= 0 {
		cfg.KeyRecheck = DefaultKeyRecheck
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Roster{st: cfg.Store, mailer: cfg.Mailer, recheck: cfg.KeyRecheck, log: cfg.Logger, now: cfg.Now,
		projects: map[string]*Project{}, declared: map[string]*Project{}}
	r.made.r = r
	r.events = audit.New(audit.Config{Store: cfg.Store, Prefix: auditLogPrefix, Logger: cfg.AuditLogger,
		Retention: cfg.AuditRetention, MaxPerProject: cfg.AuditMax, Now: cfg.Now})
	for _, p := range cfg.Projects {
		if err := CheckSlug(p.Slug); err != nil {
			return nil, err
		}
		if r.projects[p.Slug] != nil {
			return nil, fmt.Errorf("project %q: repeated slug", p.Slug)
		}
		if p.ID == "" {
			p.ID = p.Slug
		}
		if p.Account == "" {
			p.Account = p.RepoOwner
		}
		// A map has no order: the members are judged in their names'.
		list := make([]Member, 0, len(p.Members))
		for who, role := range p.Members {
			list = append(list, Member{Who: who, Role: role})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Who < list[j].Who })
		members, err := KeyMembers(list)
		if err != nil {
			return nil, fmt.Errorf("project %s: %v", p.Slug, err)
		}
		p.Members = members
		for _, h := range p.KeySHA256 {
			r.declared[strings.ToLower(h)] = p
		}
		r.projects[p.Slug] = p
		r.origins.Origins = append(r.origins.Origins, p.Targets.Origins...)
	}
	return r, nil
}

// Configured returns the slugs of the configuration's projects.
func (r *Roster) Configured() []string {
	out := make([]string, 0, len(r.projects))
	for slug := range r.projects {
		out = append(out, slug)
	}
	sort.Strings(out)
	return out
}

// Project is the project slug names, the configuration's or else one made
// at run time (projects.go); nil for none. It is the one lookup of a
// project: whatever takes a project finds it here. A slug that breaks
// CheckSlug costs nothing; any other costs at most one small store read a
// ProjectsTTL on this instance, however many are asked for. The error
// wraps ErrUnavailable: the store failed and this instance has never read
// its projects.
func (r *Roster) Project(ctx context.Context, slug string) (*Project, error) {
	if p := r.projects[slug]; p != nil {
		return p, nil
	}
	if CheckSlug(slug) != nil {
		return nil, nil
	}
	made, err := r.made.all(ctx)
	return made[slug], err
}

// ProjectAt finds the project the pages' URL names by account and project
// slug; nil for none. GitHub account names are compared without ASCII
// case, and nothing else folded (the Kelvin sign is not "k").
func (r *Roster) ProjectAt(ctx context.Context, account, slug string) (*Project, error) {
	p, err := r.Project(ctx, slug)
	if p == nil || !identity.SameLogin(p.Account, account) {
		return nil, err
	}
	return p, nil
}

// Stored is the projects made at run time, which the doors that make and
// delete projects change.
func (r *Roster) Stored() *ProjectBook { return &r.made }

// mustProject is Project for a change: ErrUnknownProject for none.
func (r *Roster) mustProject(ctx context.Context, slug string) (*Project, error) {
	p, err := r.Project(ctx, slug)
	if err == nil && p == nil {
		err = ErrUnknownProject
	}
	return p, err
}

// Member is one member as the configuration lists them.
type Member struct {
	// Who is a GitHub login or an e-mail address.
	Who string
	// Role is owner, admin, manager, editor or author.
	Role string
}

// KeyMembers is the one rule of a project's configured members, for every
// door that lists them (JSON, the Caddyfile, New): each is a member by
// CheckMember with a role, and nobody is listed twice with two roles
// (under two spellings of one key, say). It returns the roles by key.
func KeyMembers(list []Member) (map[string]string, error) {
	out := make(map[string]string, len(list))
	first := map[string]Member{}
	for _, m := range list {
		k, err := CheckMember(m.Who, m.Role)
		if err == nil && m.Role == "" {
			err = CheckRole(m.Role)
		}
		if err != nil {
			return nil, err
		}
		if prev, ok := first[k]; ok && prev.Role != m.Role {
			return nil, fmt.Errorf("member %s is listed twice (as %s, %s), as %s and as %s", k, prev.Who, m.Who, prev.Role, m.Role)
		}
		first[k] = m
		out[k] = m.Role
	}
	return out, nil
}

// CheckMember is the one check of a member, wherever one is named (the
// configuration, the admin API, the pages, invitations): who parses by
// the identity rule, and role, unless "", is one of the documented roles.
// It returns who's key; its errors wrap ErrBadMember.
func CheckMember(who, role string) (string, error) {
	k, err := identity.Member(who)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadMember, err)
	}
	if role != "" {
		if err := CheckRole(role); err != nil {
			return "", err
		}
	}
	return k, nil
}

// CheckRole refuses anything but one of the documented roles.
func CheckRole(role string) error {
	if !protocol.ValidRole(role) {
		return fmt.Errorf("%w: role %q is not owner, admin, manager, editor or author", ErrBadMember, role)
	}
	return nil
}
