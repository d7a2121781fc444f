package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Invitations. Inviting an e-mail address records an invitation for it,
// under the address's key (package identity), for mail.InvitationValidity (7 days),
// and e-mails (or, with no mailer, hands back) a link to the site's
// sign-in page. The invitation is consumed by the first login, by any
// provider, that brings that address verified: the address becomes a
// stored member with the role offered. It is single use: Take removes it,
// on every instance, for the one login that gets it.

// Mailer sends an e-mail; *mail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Invitation is a pending invitation.
type Invitation struct {
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	By      string    `json:"by,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// ErrNoSuchInvitation: revoking an invitation that is not pending.
var ErrNoSuchInvitation = errors.New("no pending invitation for this address")

func invitePrefix(slug string) string { return "invites/" + slug + "/" }

// inviteName keys an invitation by the hash of the address's key, so
// that an address of any shape makes a valid store key, and a lookup at
// login is one read.
func inviteName(slug, email string) string {
	return invitePrefix(slug) + relay.TokenKey(memberKey(email))[:40]
}

// Invite records an invitation of email to project as role and sends it
// when the relay has a mailer. It returns the invitation, the link to
// the sign-in page it names, and whether it was e-mailed.
func (n *Native) Invite(ctx context.Context, project, email, role, by string) (Invitation, string, bool, error) {
	p := n.projects[project]
	if p == nil {
		return Invitation{}, "", false, ErrUnknownProject
	}
	k, err := inviteeKey(email, role)
	if err != nil {
		return Invitation{}, "", false, err
	}
	if role == "" || !mail.ValidAddress(k) {
		return Invitation{}, "", false, fmt.Errorf("%w: an invitation needs an e-mail address and a role", ErrBadMember)
	}
	if p.Members[k] != "" {
		return Invitation{}, "", false, ErrConfigMember
	}
	stored, err := n.readMembers(ctx, project)
	if err != nil {
		return Invitation{}, "", false, err
	}
	if _, ok := stored.Members[k]; ok {
		return Invitation{}, "", false, fmt.Errorf("%w: %s is a member already: give them another role instead", ErrBadMember, k)
	}
	now := n.cfg.Now().UTC().Truncate(time.Second)
	inv := Invitation{Email: k, Role: role, By: by, Created: now, Expires: now.Add(mail.InvitationValidity)}
	// The sign-in page of the project's first site: any login there with
	// the invited address, by any provider, accepts the invitation.
	origins := n.targets(ctx, p).Origins
	if len(origins) == 0 {
		return Invitation{}, "", false, errors.New("the project has no callback origins yet: add one, then invite")
	}
	link := origins[0].String()
	data, _ := json.Marshal(inv)
	if err := n.cfg.Store.Put(ctx, inviteName(project, k), data, mail.InvitationValidity); err != nil {
		return Invitation{}, "", false, err
	}
	n.audit(ctx, project, by, fmt.Sprintf("invited %s as %s", k, role))
	if n.cfg.Mailer == nil {
		return inv, link, false, nil
	}
	inviter := by
	if inviter == "" {
		inviter = "The " + project + " team"
	}
	msg, err := mail.InvitationMessage(mail.Invitation{To: k, Site: project, Inviter: inviter, Role: role, Link: link})
	if err == nil {
		err = n.cfg.Mailer.Send(ctx, msg)
	}
	if err != nil {
		n.log.Warn("sending an invitation failed", zap.String("project", project), zap.Error(err))
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
	if _, err := checkMember(k, role); err != nil {
		return "", err
	}
	return k, nil
}

// RevokeInvitation drops the pending invitation of email to project.
func (n *Native) RevokeInvitation(ctx context.Context, project, email, by string) error {
	if n.projects[project] == nil {
		return ErrUnknownProject
	}
	k, err := inviteeKey(email, "")
	if err != nil {
		return err
	}
	if _, err := n.cfg.Store.Take(ctx, inviteName(project, k)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSuchInvitation
		}
		return err
	}
	n.audit(ctx, project, by, "revoked the invitation of "+k)
	return nil
}

// Invitations lists project's pending invitations.
func (n *Native) Invitations(ctx context.Context, project string) ([]Invitation, error) {
	if n.projects[project] == nil {
		return nil, ErrUnknownProject
	}
	names, err := n.cfg.Store.List(ctx, invitePrefix(project))
	if err != nil {
		return nil, err
	}
	out := []Invitation{}
	for _, name := range names {
		data, err := n.cfg.Store.Get(ctx, name)
		if err != nil {
			continue
		}
		var inv Invitation
		if json.Unmarshal(data, &inv) == nil {
			out = append(out, inv)
		}
	}
	return out, nil
}

// admit is the membership check of a completed login: it accepts a
// pending invitation of any of the user's verified addresses, then
// returns the user's role ("" for none). Every provider's login ends here.
func (n *Native) admit(ctx context.Context, p *Project, m member) (string, error) {
	for _, e := range emailKeys(m.Emails) {
		data, err := n.cfg.Store.Take(ctx, inviteName(p.Slug, e))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%w: reading invitations: %v", errUnavailable, err)
		}
		var inv Invitation
		if json.Unmarshal(data, &inv) != nil || !ValidRole(inv.Role) {
			continue
		}
		who := m.Login
		if who == "" {
			who = e
		}
		if _, err := n.AddMember(ctx, p.Slug, e, inv.Role, who+" (accepted the invitation)"); err != nil && !errors.Is(err, ErrConfigMember) {
			return "", fmt.Errorf("%w: accepting an invitation: %v", errUnavailable, err)
		}
	}
	return n.roleIn(ctx, p, m)
}
