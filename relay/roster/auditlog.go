package roster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// The audit log. Every change this package makes (keys, members,
// invitations, origins, projects), and every refusal of the one rule, is
// recorded here; the logins, the sessions and the pages record theirs
// through Audit. The members log that came before it (member changes
// only, under legacyMembersLogPrefix) is folded into it at the first read
// of a project's events on each instance: each of its records is taken
// once, across instances, and kept in the audit log under its own time.

// AuditEntry is one recorded event; the members log's entries are events
// of member kinds.
type AuditEntry = audit.Event

// Audit is the relay's audit log, for the doors that record events of
// their own (logins, sessions, the pages).
func (r *Roster) Audit() *audit.Log { return r.events }

// AuditEvents answers q from the audit log, the older members log of
// its projects folded in first.
func (r *Roster) AuditEvents(ctx context.Context, q audit.Query) (audit.Page, error) {
	slugs := q.Projects
	if q.All {
		slugs = r.Configured()
	}
	for _, slug := range slugs {
		if err := r.folded.fold(ctx, r.st, r.events, slug); err != nil {
			return audit.Page{}, err
		}
	}
	return r.events.Read(ctx, q)
}

// memberKinds are the kinds of the members log.
var memberKinds = map[audit.Kind]bool{
	audit.MemberAdded: true, audit.MemberRole: true, audit.MemberRemoved: true, audit.InvitationSent: true,
	audit.InvitationRevoked: true, audit.InvitationAccepted: true, audit.InvitationVoid: true,
}

// MemberLog returns project's recorded changes of members and
// invitations, oldest first.
func (r *Roster) MemberLog(ctx context.Context, project string) ([]AuditEntry, error) {
	if _, err := r.mustProject(ctx, project); err != nil {
		return nil, err
	}
	page, err := r.AuditEvents(ctx, audit.Query{Projects: []string{project}})
	if err != nil {
		return nil, err
	}
	out := []AuditEntry{}
	for i := len(page.Events) - 1; i >= 0; i-- {
		if e := page.Events[i]; memberKinds[e.Kind] {
			out = append(out, e)
		}
	}
	return out, nil
}

// membersLogFold remembers which projects' older members log this
// instance has folded into the audit log.
type membersLogFold struct{ done sync.Map }

// fold moves slug's records of the older members log into the
// audit log, once per instance.
func (f *membersLogFold) fold(ctx context.Context, st store.Store, events *audit.Log, slug string) error {
	if CheckSlug(slug) != nil {
		return nil
	}
	if _, done := f.done.Load(slug); done {
		return nil
	}
	names, err := st.List(ctx, legacyMembersLogPrefix(slug))
	if err != nil {
		return err
	}
	for _, name := range names {
		data, err := st.Take(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // another instance took it
		}
		if err != nil {
			return err
		}
		var e audit.Event // the old entries' fields are at, by and what
		if json.Unmarshal(data, &e) != nil {
			continue
		}
		e.Project, e.Kind = slug, legacyKind(e)
		if err := events.Import(ctx, e); err != nil {
			return err
		}
	}
	f.done.Store(slug, true)
	return nil
}

// legacyKind reads the kind of an entry of the older members log from
// the words it was written with.
func legacyKind(e audit.Event) audit.Kind {
	switch w := e.What; {
	case strings.Contains(w, " is void"):
		return audit.InvitationVoid
	case strings.Contains(e.By, "(accepted the invitation of"):
		return audit.InvitationAccepted
	case strings.HasPrefix(w, "added "):
		return audit.MemberAdded
	case strings.HasPrefix(w, "role of "):
		return audit.MemberRole
	case strings.HasPrefix(w, "removed "):
		return audit.MemberRemoved
	case strings.HasPrefix(w, "invited "):
		return audit.InvitationSent
	}
	return audit.InvitationRevoked
}
