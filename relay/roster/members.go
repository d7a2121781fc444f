package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Members. A project's members come from two places: the configuration
// (the Caddyfile's member lines: read-only here) and the store (added,
// changed and removed on the relay's Members page, through the admin API
// and `caddy outstatic member`, and by accepted invitations; every such
// change is judged by one rule, memberrule.go, in memberchanges.go).
// A user's effective role is the configuration's when it lists them, else
// the store's. RoleSince is the one lookup; every step of a session (login,
// exchange, refresh, parser, media) goes through it, so a removed member or
// a lowered role counts at the next call.
//
// A project's stored members are one record, "members/<project>": a lookup
// is one store read however many members there are, and a change rewrites
// it under a lock. Each instance keeps the record in memory for at most
// MemberCacheTTL; the instance that makes a change drops its copy at once.
// The record itself is the generation: there is nothing to invalidate on
// other instances beyond their one-second copy.

// MemberCacheTTL bounds how stale another instance's view of the stored
// members may be.
const MemberCacheTTL = time.Second

// StoredMember is a member kept in the store.
type StoredMember struct {
	// Who is a GitHub login or an e-mail address, as its key (package
	// identity).
	Who string `json:"who"`
	// Role is owner, admin, manager, editor or author.
	Role string `json:"role"`
	// Since is when the member was added or last given a role.
	Since time.Time `json:"since"`
	// Added is when the member was last added (by hand or by an accepted
	// invitation); a role change keeps it. Sessions of logins before it
	// are not this membership's (RoleSince). Zero in records written
	// before it was kept.
	Added time.Time `json:"added,omitzero"`
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

// memberCache is each instance's short-lived copy of the stored members.
type memberCache struct {
	mu sync.Mutex
	m  map[string]cachedMembers
}

type cachedMembers struct {
	read time.Time
	rec  memberRecord
}

// MembershipSkew is how much later than a session's login a stored
// membership may have been added and still carry the session: the
// instances' clocks may be that far apart (an invitation is accepted on
// one instance during the login, the session begins on another).
const MembershipSkew = time.Minute

// RoleSince finds the user among p's members, by login or by a verified
// e-mail address, by their keys (identity.go): the configuration first,
// then the store. "" is not a member. It is the one membership lookup.
// For a session whose login was at since, a stored membership added more
// than MembershipSkew after it does not count. So
// removing a member ends their sessions for good: adding them again makes
// a new membership, which the sessions of earlier logins (a refresh token
// copied meanwhile) do not carry. A zero since (a session sealed before
// sessions carried their login's time, or a lookup for no session) counts
// every membership.
func (r *Roster) RoleSince(ctx context.Context, p *Project, login string, emails []string, since time.Time) (string, error) {
	if role := ConfiguredRole(p, login, emails); role != "" {
		return role, nil
	}
	rec, err := r.storedMembers(ctx, p.Slug)
	if err != nil {
		return "", err
	}
	return roleAmong(p, rec, userKeys(login, emails), since), nil
}

// ConfiguredRole is the role p's configuration gives the user, which no
// change at run time (a stored member, an accepted invitation) alters: it
// is RoleSince's answer whatever the store holds. "" when the configuration
// lists the user by none of their keys.
func ConfiguredRole(p *Project, login string, emails []string) string {
	return roleAmong(p, memberRecord{}, userKeys(login, emails), time.Time{})
}

// roleAmong is the role of the user listed by one of ids: p's
// configuration first, then the stored members rec; with since not zero,
// only those added by since (and MembershipSkew) count.
func roleAmong(p *Project, rec memberRecord, ids []string, since time.Time) string {
	for _, k := range ids {
		if role := p.Members[k]; role != "" {
			return role
		}
	}
	for _, k := range ids {
		m, ok := rec.Members[k]
		if ok && (since.IsZero() || !m.Added.After(since.Add(MembershipSkew))) {
			return m.Role
		}
	}
	return ""
}

// storedMembers reads p's stored members, from this instance's copy when
// it is fresh enough.
func (r *Roster) storedMembers(ctx context.Context, slug string) (memberRecord, error) {
	r.members.mu.Lock()
	c, ok := r.members.m[slug]
	r.members.mu.Unlock()
	// Wall time, not cfg.Now: tests stop that clock, and this bound is
	// about instances, not sessions.
	if ok && time.Since(c.read) < MemberCacheTTL {
		return c.rec, nil
	}
	rec, err := readMembers(ctx, r.st, slug)
	if err != nil {
		return rec, fmt.Errorf("%w: reading members: %v", ErrUnavailable, err)
	}
	r.members.mu.Lock()
	if r.members.m == nil {
		r.members.m = map[string]cachedMembers{}
	}
	r.members.m[slug] = cachedMembers{read: time.Now(), rec: rec}
	r.members.mu.Unlock()
	return rec, nil
}

// readMembers reads slug's record from the store.
func readMembers(ctx context.Context, st store.Store, slug string) (memberRecord, error) {
	rec := memberRecord{Members: map[string]StoredMember{}}
	data, err := st.Get(ctx, membersName(slug))
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
func (r *Roster) Members(ctx context.Context, project string) ([]MemberInfo, error) {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return nil, err
	}
	out := []MemberInfo{}
	for who, role := range p.Members {
		out = append(out, MemberInfo{Who: who, Role: role, Source: "config"})
	}
	rec, err := readMembers(ctx, r.st, project)
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

// readAll reads the JSON records listed under prefix, in the list's
// order; one gone between the list and its read (expired), or that does
// not decode, is left out.
func readAll[T any](ctx context.Context, st store.Store, prefix string) ([]T, error) {
	names, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := []T{}
	for _, name := range names {
		data, err := st.Get(ctx, name)
		if err != nil {
			continue
		}
		var v T
		if json.Unmarshal(data, &v) == nil {
			out = append(out, v)
		}
	}
	return out, nil
}
