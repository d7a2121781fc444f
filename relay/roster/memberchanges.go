package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Member changes. Each one, whatever door it came in by, runs in
// changeMembers: under the project's members lock it reads the stored
// members, finds the target and the asker as they are now, asks the one
// rule (AuthorizeMemberChange), and only then writes. A form shown a
// minute ago, or a role lowered in between, changes nothing the rule
// would not allow now.

// AddMember adds who to project's stored members with role, asked by by.
// Someone who is a member already (stored or in the Caddyfile, in any
// case) is refused: their role is changed with SetRole only.
func (r *Roster) AddMember(ctx context.Context, project, who, role string, by Actor) (StoredMember, error) {
	return r.putMember(ctx, project, who, role, by, ActionAdd)
}

// SetRole gives a stored member another role; a lowered role counts at
// once for what the relay lets the member's sessions change.
func (r *Roster) SetRole(ctx context.Context, project, who, role string, by Actor) (StoredMember, error) {
	return r.putMember(ctx, project, who, role, by, ActionRole)
}

// putMember stores who with role for an add, a role change or an
// accepted invitation.
func (r *Roster) putMember(ctx context.Context, project, who, role string, by Actor, action MemberAction) (StoredMember, error) {
	k, err := CheckMember(who, role)
	if err != nil {
		return StoredMember{}, err
	}
	if role == "" {
		return StoredMember{}, fmt.Errorf("%w: a role is required", ErrBadMember)
	}
	var out StoredMember
	err = r.changeMembers(ctx, project, by, MemberChange{Action: action, Who: k, NewRole: role},
		func(rec *memberRecord, c MemberChange) (string, error) {
			now := r.now().UTC().Truncate(time.Second)
			out = StoredMember{Who: k, Role: role, Since: now, Added: now, By: by.Name}
			if action == ActionRole {
				out.Added = rec.Members[k].Added // the same membership
			}
			rec.Members[k] = out
			if err := r.saveMembers(ctx, project, *rec); err != nil {
				return "", err
			}
			if action == ActionRole {
				return fmt.Sprintf("role of %s: %s → %s", k, c.Role, role), nil
			}
			return fmt.Sprintf("added %s as %s", k, role), nil
		})
	return out, err
}

// RemoveMember removes who from project's stored members. Their sessions
// end at their next refresh or parser call.
func (r *Roster) RemoveMember(ctx context.Context, project, who string, by Actor) error {
	k, err := CheckMember(who, "")
	if err != nil {
		return err
	}
	return r.changeMembers(ctx, project, by, MemberChange{Action: ActionRemove, Who: k},
		func(rec *memberRecord, c MemberChange) (string, error) {
			delete(rec.Members, k)
			if err := r.saveMembers(ctx, project, *rec); err != nil {
				return "", err
			}
			return fmt.Sprintf("removed %s (%s)", k, c.Role), nil
		})
}

// changeMembers makes one change of project's members or invitations:
// under the members lock it completes c with the target as it is (its
// role, whether the Caddyfile lists it, its pending invitation) and the
// project's owners, judges it with by's role as it is, and, allowed,
// calls apply, which writes and returns what to record in the audit log.
// A refusal is recorded and returned as a *MemberRefusal.
func (r *Roster) changeMembers(ctx context.Context, project string, by Actor, c MemberChange,
	apply func(rec *memberRecord, c MemberChange) (string, error)) error {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return err
	}
	unlock, err := lockRecord(ctx, r.st, membersLockName(project), "the members of "+project+" are being changed elsewhere; try again")
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := readMembers(ctx, r.st, project)
	if err != nil {
		return err
	}
	if c.Role = p.Members[c.Who]; c.Role != "" {
		c.Configured = true
	} else {
		c.Role = rec.Members[c.Who].Role
	}
	c.Owners = ownerCount(p, rec)
	if c.Action == ActionInvite || c.Action == ActionRevoke {
		inv, err := pendingInvitation(ctx, r.st, project, c.Who)
		if err != nil {
			return err
		}
		c.Invited = inv.Role
	}
	actor := by.roleIn(p, rec)
	if err := AuthorizeMemberChange(actor, c); err != nil {
		r.log.Info("member change refused", zap.String("project", project), zap.String("by", by.Name),
			zap.String("as", actor), zap.String("action", string(c.Action)), zap.String("who", c.Who), zap.Error(err))
		if c.Action != ActionAccept { // an accept refused is recorded as the invitation's end
			r.events.Record(ctx, audit.Event{Kind: audit.ChangeRefused, Project: project, By: by.Name, Operator: by.Operator,
				Member: c.Who, Role: c.NewRole, Reason: err.Error(), What: fmt.Sprintf("%s of %s refused: %v", c.Action, c.Who, err)})
		}
		return err
	}
	what, err := apply(&rec, c)
	if err != nil {
		return err
	}
	e := audit.Event{Kind: memberChangeKinds[c.Action], Project: project, By: by.Name, Operator: by.Operator,
		Member: c.Who, Role: c.NewRole, What: what}
	if c.Action == ActionRemove {
		e.Role = c.Role
	}
	r.events.Record(ctx, e)
	return nil
}

// memberChangeKinds are the audit log's kinds of the member changes.
var memberChangeKinds = map[MemberAction]audit.Kind{
	ActionAdd: audit.MemberAdded, ActionRole: audit.MemberRole, ActionRemove: audit.MemberRemoved,
	ActionInvite: audit.InvitationSent, ActionRevoke: audit.InvitationRevoked, ActionAccept: audit.InvitationAccepted,
}

// roleIn is the role the rule judges a's changes with: OperatorRole for
// the operator, else a's role among p's members as rec holds them.
func (a Actor) roleIn(p *Project, rec memberRecord) string {
	if a.Operator {
		return OperatorRole
	}
	return roleAmong(p, rec, userKeys(a.Login, a.Emails), time.Time{})
}

// ownerCount counts p's owners: the configuration's and the stored ones
// it does not list.
func ownerCount(p *Project, rec memberRecord) int {
	owners := 0
	for _, role := range p.Members {
		if role == "owner" {
			owners++
		}
	}
	for k, m := range rec.Members {
		if p.Members[k] == "" && m.Role == "owner" {
			owners++
		}
	}
	return owners
}

// saveMembers writes project's record and drops this instance's copy.
func (r *Roster) saveMembers(ctx context.Context, project string, rec memberRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := r.st.Put(ctx, membersName(project), data, 0); err != nil {
		return err
	}
	r.members.mu.Lock()
	delete(r.members.m, project)
	r.members.mu.Unlock()
	return nil
}

// lock takes a lock record in the store, waiting a few seconds for
// it; busy is the error when it stays taken.
func lockRecord(ctx context.Context, st store.Store, name, busy string) (func(), error) {
	for i := 0; ; i++ {
		err := st.PutNew(ctx, name, []byte{1}, keyLockTTL)
		if err == nil {
			return func() { _ = st.Delete(context.WithoutCancel(ctx), name) }, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return nil, err
		}
		if i == 50 {
			return nil, errors.New(busy)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
