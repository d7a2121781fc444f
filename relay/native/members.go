package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Members. A project's members come from two places: the configuration
// (the Caddyfile's member lines: read-only here) and the store (added,
// changed and removed on the relay's Members page, through the admin API
// and `caddy outstatic member`, and by accepted invitations; every such
// change is judged by one rule, memberrule.go, in memberchanges.go).
// A user's effective role is the configuration's when it lists them, else
// the store's. roleOf is the one lookup; every step of a session (login,
// exchange, refresh, parser, media) goes through it, so a removed member or
// a lowered role counts at the next call.
//
// A project's stored members are one record, "members/<project>": a lookup
// is one store read however many members there are, and a change rewrites
// it under a lock. Each instance keeps the record in memory for at most
// memberCacheTTL; the instance that makes a change drops its copy at once.
// The record itself is the generation: there is nothing to invalidate on
// other instances beyond their one-second copy.

// memberCacheTTL bounds how stale another instance's view of the stored
// members may be.
const memberCacheTTL = time.Second

// StoredMember is a member kept in the store.
type StoredMember struct {
	// Who is a GitHub login or an e-mail address, as its key (package
	// identity).
	Who string `json:"who"`
	// Role is owner, admin, manager, editor or author.
	Role string `json:"role"`
	// Since is when the member was added or last given a role.
	Since time.Time `json:"since"`
	// By is who made that change.
	By string `json:"by,omitempty"`
}

// MemberInfo is a member as the admin API lists it.
type MemberInfo struct {
	Who  string `json:"who"`
	Role string `json:"role"`
	// Source is "config" (the Caddyfile: read-only) or "store".
	Source string    `json:"source"`
	Since  time.Time `json:"since,omitzero"`
	By     string    `json:"by,omitempty"`
}

// memberRecord is what the store keeps of a project's members, by key.
type memberRecord struct {
	Members map[string]StoredMember `json:"members"`
}

// Errors of member changes (with those of memberrule.go), for the doors
// to answer with: MemberChangeStatus maps them to HTTP statuses.
var (
	// ErrConfigMember: the member is listed in the configuration, which
	// no door changes at run time.
	ErrConfigMember = errors.New("this member is listed in the Caddyfile (member lines are read-only): change it there")
	// ErrNoSuchMember: remove or role of someone the store does not hold.
	ErrNoSuchMember = errors.New("no such stored member")
	// ErrBadMember: an empty, over-long or malformed login or address, or
	// an unknown role.
	ErrBadMember = errors.New("invalid member")
)

func membersName(slug string) string     { return "members/" + slug }
func membersLockName(slug string) string { return "locks/members/" + slug }

// memberCache is each instance's short-lived copy of the stored members.
type memberCache struct {
	mu sync.Mutex
	m  map[string]cachedMembers
}

type cachedMembers struct {
	read time.Time
	rec  memberRecord
}

// roleOf finds the user among p's members, by login or by a verified
// e-mail address, by their keys (identity.go): the configuration first,
// then the store. "" is not a member. It is the one membership lookup.
func (n *Native) roleOf(ctx context.Context, p *Project, login string, emails []string) (string, error) {
	ids := userKeys(login, emails)
	if role := roleAmong(p, memberRecord{}, ids); role != "" {
		return role, nil
	}
	rec, err := n.storedMembers(ctx, p.Slug)
	if err != nil {
		return "", err
	}
	return roleAmong(p, rec, ids), nil
}

// roleAmong is the role of the user listed by one of ids: p's
// configuration first, then the stored members rec.
func roleAmong(p *Project, rec memberRecord, ids []string) string {
	for _, k := range ids {
		if role := p.Members[k]; role != "" {
			return role
		}
	}
	for _, k := range ids {
		if m, ok := rec.Members[k]; ok {
			return m.Role
		}
	}
	return ""
}

// roleIn finds m among p's members.
func (n *Native) roleIn(ctx context.Context, p *Project, m member) (string, error) {
	return n.roleOf(ctx, p, m.Login, m.Emails)
}

// storedMembers reads p's stored members, from this instance's copy when
// it is fresh enough.
func (n *Native) storedMembers(ctx context.Context, slug string) (memberRecord, error) {
	n.members.mu.Lock()
	c, ok := n.members.m[slug]
	n.members.mu.Unlock()
	// Wall time, not cfg.Now: tests stop that clock, and this bound is
	// about instances, not sessions.
	if ok && time.Since(c.read) < memberCacheTTL {
		return c.rec, nil
	}
	rec, err := n.readMembers(ctx, slug)
	if err != nil {
		return rec, fmt.Errorf("%w: reading members: %v", errUnavailable, err)
	}
	n.members.mu.Lock()
	if n.members.m == nil {
		n.members.m = map[string]cachedMembers{}
	}
	n.members.m[slug] = cachedMembers{read: time.Now(), rec: rec}
	n.members.mu.Unlock()
	return rec, nil
}

// readMembers reads the record from the store.
func (n *Native) readMembers(ctx context.Context, slug string) (memberRecord, error) {
	rec := memberRecord{Members: map[string]StoredMember{}}
	data, err := n.cfg.Store.Get(ctx, membersName(slug))
	if errors.Is(err, store.ErrNotFound) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("members record of %s: %v", slug, err)
	}
	if rec.Members == nil {
		rec.Members = map[string]StoredMember{}
	}
	rec.Members = rekeyMembers(rec.Members)
	return rec, nil
}

// Members lists project's members: the configuration's, then the store's.
func (n *Native) Members(ctx context.Context, project string) ([]MemberInfo, error) {
	p := n.projects[project]
	if p == nil {
		return nil, ErrUnknownProject
	}
	out := []MemberInfo{}
	for who, role := range p.Members {
		out = append(out, MemberInfo{Who: who, Role: role, Source: "config"})
	}
	rec, err := n.readMembers(ctx, project)
	if err != nil {
		return nil, err
	}
	for who, m := range rec.Members {
		if p.Members[who] == "" {
			out = append(out, MemberInfo{Who: who, Role: m.Role, Source: "store", Since: m.Since, By: m.By})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Who < out[j].Who })
	return out, nil
}

// checkMember is the one check of a member given to the admin API.
func checkMember(who, role string) (string, error) {
	k, err := identity.Member(who)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadMember, err)
	}
	if role != "" && !ValidRole(role) {
		return "", fmt.Errorf("%w: role %q is not owner, admin, manager, editor or author", ErrBadMember, role)
	}
	return k, nil
}

// auditTTL is how long the record of a member change is kept.
const auditTTL = 365 * 24 * time.Hour

// AuditEntry is one recorded change of a project's members or invitations.
type AuditEntry struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	What string    `json:"what"`
}

func auditPrefix(slug string) string { return "audit/members/" + slug + "/" }

// audit logs a change and keeps it in the store, for the admin API. What
// it records names members and roles, never a token or a key.
func (n *Native) audit(ctx context.Context, project, by, what string) {
	if by == "" {
		by = "unknown"
	}
	e := AuditEntry{At: n.cfg.Now().UTC(), By: by, What: what}
	n.log.Info("members changed", zap.String("project", project), zap.String("by", by), zap.String("what", what))
	data, _ := json.Marshal(e)
	// Named by the wall clock, so that the list is in order even under a
	// stopped test clock; the random tail keeps two changes in one
	// nanosecond apart.
	name := fmt.Sprintf("%s%020d-%s", auditPrefix(project), time.Now().UnixNano(), relay.TokenKey(newSessionID())[:8])
	if err := n.cfg.Store.Put(context.WithoutCancel(ctx), name, data, auditTTL); err != nil {
		n.log.Error("recording a member change", zap.String("project", project), zap.Error(err))
	}
}

// MemberLog returns project's recorded member changes, oldest first.
func (n *Native) MemberLog(ctx context.Context, project string) ([]AuditEntry, error) {
	if n.projects[project] == nil {
		return nil, ErrUnknownProject
	}
	names, err := n.cfg.Store.List(ctx, auditPrefix(project))
	if err != nil {
		return nil, err
	}
	out := []AuditEntry{}
	for _, name := range names {
		data, err := n.cfg.Store.Get(ctx, name)
		if err != nil {
			continue // expired between the list and the read
		}
		var e AuditEntry
		if json.Unmarshal(data, &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
