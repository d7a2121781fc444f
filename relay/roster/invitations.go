package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Invitations. Inviting an e-mail address records an invitation for it,
// under the address's key (package identity), for mail.InvitationValidity (7 days),
// and e-mails (or, with no mailer, hands back) a link to the site's
// sign-in page. The invitation is consumed by the first login, by any
// provider, that brings that address verified: the address becomes a
// stored member with the role offered. It is single use: Take removes it,
// on every instance, for the one login that gets it.

// Invitation is a pending invitation.
type Invitation struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	By    string `json:"by,omitempty"`
	// Inviter is who invited, for the rule to judge the grant again when
	// the invitation is accepted.
	Inviter *Actor    `json:"inviter,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// ErrNoSuchInvitation: revoking an invitation that is not pending.
var ErrNoSuchInvitation = errors.New("no pending invitation for this address")

// Invite records an invitation of email to project as role, asked by by,
// and sends it when the relay has a mailer. It returns the invitation,
// the link to the sign-in page it names, and whether it was e-mailed. A
// member, or an address invited already, is refused.
func (r *Roster) Invite(ctx context.Context, project, email, role string, by Actor) (Invitation, string, bool, error) {
	p, err := r.mustProject(ctx, project)
	if err != nil {
		return Invitation{}, "", false, err
	}
	k, err := inviteeKey(email, role)
	if err != nil {
		return Invitation{}, "", false, err
	}
	if role == "" || !mail.ValidAddress(k) {
		return Invitation{}, "", false, fmt.Errorf("%w: an invitation needs an e-mail address and a role", ErrBadMember)
	}
	// The sign-in page of the project's first site: any login there with
	// the invited address, by any provider, accepts the invitation.
	origins := r.Targets(ctx, p).Origins
	if len(origins) == 0 {
		return Invitation{}, "", false, errors.New("the project has no callback origins yet: add one, then invite")
	}
	link := origins[0].String()
	now := r.now().UTC().Truncate(time.Second)
	inviter := by
	inv := Invitation{Email: k, Role: role, By: by.Name, Inviter: &inviter, Created: now, Expires: now.Add(mail.InvitationValidity)}
	err = r.changeMembers(ctx, project, by, MemberChange{Action: ActionInvite, Who: k, NewRole: role},
		func(*memberRecord, MemberChange) (string, error) {
			data, _ := json.Marshal(inv)
			if err := r.st.Put(ctx, inviteName(project, k), data, mail.InvitationValidity); err != nil {
				return "", err
			}
			return fmt.Sprintf("invited %s as %s", k, role), nil
		})
	if err != nil {
		return Invitation{}, "", false, err
	}
	if r.mailer == nil {
		return inv, link, false, nil
	}
	name := by.Name
	if name == "" {
		name = "The " + project + " team"
	}
	msg, err := mail.InvitationMessage(mail.Invitation{To: k, Site: project, Inviter: name, Role: role, Link: link})
	if err == nil {
		err = r.mailer.Send(ctx, msg)
	}
	if err != nil {
		r.log.Warn("sending an invitation failed", zap.String("project", project), zap.Error(err))
		return inv, link, false, fmt.Errorf("the invitation is recorded, but sending it failed: %v", err)
	}
	return inv, link, true, nil
}

// inviteeKey checks an invited address and role, and returns the
// address's key.
func inviteeKey(email, role string) (string, error) {
	k, err := identity.Email(email)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadMember, err)
	}
	if _, err := CheckMember(k, role); err != nil {
		return "", err
	}
	return k, nil
}

// RevokeInvitation drops the pending invitation of email to project,
// asked by by.
func (r *Roster) RevokeInvitation(ctx context.Context, project, email string, by Actor) error {
	if _, err := r.mustProject(ctx, project); err != nil {
		return err
	}
	k, err := inviteeKey(email, "")
	if err != nil {
		return err
	}
	return r.changeMembers(ctx, project, by, MemberChange{Action: ActionRevoke, Who: k},
		func(_ *memberRecord, c MemberChange) (string, error) {
			if _, err := r.st.Take(ctx, inviteName(project, k)); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return "", ErrNoSuchInvitation // accepted in the meantime
				}
				return "", err
			}
			return fmt.Sprintf("revoked the invitation of %s as %s", k, c.Invited), nil
		})
}

// pendingInvitation is the pending invitation of the address k, the zero
// Invitation for none.
func pendingInvitation(ctx context.Context, st store.Store, project, k string) (Invitation, error) {
	var inv Invitation
	data, err := st.Get(ctx, inviteName(project, k))
	if errors.Is(err, store.ErrNotFound) {
		return inv, nil
	}
	if err != nil {
		return inv, err
	}
	if err := json.Unmarshal(data, &inv); err != nil {
		return inv, fmt.Errorf("invitation of %s: %v", k, err)
	}
	return inv, nil
}

// Invitations lists project's pending invitations.
func (r *Roster) Invitations(ctx context.Context, project string) ([]Invitation, error) {
	if _, err := r.mustProject(ctx, project); err != nil {
		return nil, err
	}
	return readAll[Invitation](ctx, r.st, invitePrefix(project))
}

// Admit is the membership check of a completed login of the user known
// by login and verified addresses emails: it accepts a pending invitation
// of any of those addresses, then returns the user's role ("" for none).
// Every provider's login ends here. The invitations are taken in one
// batch, with with, if any (the exchange token of a member whose role the
// configuration gives, ConfiguredRole).
func (r *Roster) Admit(ctx context.Context, p *Project, login string, emails []string, with ...*store.Op) (string, error) {
	keys := emailKeys(emails)
	takes := make([]*store.Op, len(keys), len(keys)+len(with))
	for i, e := range keys {
		takes[i] = store.TakeOp(inviteName(p.Slug, e))
	}
	r.st.Batch(ctx, append(takes, with...)...)
	for i, take := range takes {
		if errors.Is(take.Err, store.ErrNotFound) {
			continue
		}
		if take.Err != nil {
			giveBack(ctx, r.st, r.log, r.now(), p, keys[i+1:], takes[i+1:])
			return "", fmt.Errorf("%w: reading invitations: %v", ErrUnavailable, take.Err)
		}
		var inv Invitation
		if json.Unmarshal(take.Value, &inv) != nil {
			continue
		}
		if err := r.accept(ctx, p, keys[i], inv, login); err != nil {
			giveBack(ctx, r.st, r.log, r.now(), p, keys[i+1:], takes[i+1:])
			return "", fmt.Errorf("%w: accepting an invitation: %v", ErrUnavailable, err)
		}
	}
	return r.RoleSince(ctx, p, login, emails, time.Time{})
}

// giveBack puts back the invitations of the addresses keys that takes
// took but a failure left unaccepted, each for the rest of its validity,
// unless the address was invited again meanwhile: as if they had not been
// taken. Failures are logged to log.
func giveBack(ctx context.Context, st store.Store, log *zap.Logger, now time.Time, p *Project, keys []string, takes []*store.Op) {
	for i, take := range takes {
		var inv Invitation
		if take.Err != nil || json.Unmarshal(take.Value, &inv) != nil {
			continue
		}
		left := inv.Expires.Sub(now)
		if left <= 0 {
			continue
		}
		if err := st.PutNew(ctx, inviteName(p.Slug, keys[i]), take.Value, left); err != nil && !errors.Is(err, store.ErrExists) {
			log.Error("putting back an invitation a failed login took", zap.String("project", p.Slug), zap.Error(err))
		}
	}
}

// accept makes the address k a member with the role inv offers, when the
// rule lets the inviter, as they are now, grant it: an inviter removed or
// lowered since, or an address that became a member meanwhile (whose role
// stays as it is), voids the invitation, which is recorded in the members
// log. An invitation that names no inviter is void too. The error is the
// store's only.
func (r *Roster) accept(ctx context.Context, p *Project, k string, inv Invitation, login string) error {
	who := login
	if who == "" {
		who = k
	}
	var inviter Actor
	if inv.Inviter != nil {
		inviter = *inv.Inviter
	}
	inviter.Name = who + " (accepted the invitation of " + inv.By + ")"
	_, err := r.putMember(ctx, p.Slug, k, inv.Role, inviter, ActionAccept)
	var refusal *MemberRefusal
	if errors.As(err, &refusal) || errors.Is(err, ErrBadMember) {
		r.events.Record(ctx, audit.Event{Kind: audit.InvitationVoid, Project: p.Slug, By: who, Member: k, Role: inv.Role, Reason: err.Error(),
			What: fmt.Sprintf("the invitation of %s as %s (by %s) is void: %v", k, inv.Role, inv.By, err)})
		return nil
	}
	return err
}

// MayLogIn reports whether addr is a member of p or has a pending
// invitation to it: whom an e-mail login link is sent to.
func (r *Roster) MayLogIn(ctx context.Context, p *Project, addr string) (bool, error) {
	role, err := r.RoleSince(ctx, p, "", []string{addr}, time.Time{})
	if err != nil || role != "" {
		return role != "", err
	}
	_, err = r.st.Get(ctx, inviteName(p.Slug, addr))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
