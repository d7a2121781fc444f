package pages

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// memberRow is one line of the members table.
type memberRow struct {
	Who        string
	Role       string
	Configured bool // from the Caddyfile: read-only here
	// Roles are the roles the signed-in user may give them, their own
	// included; empty when they may not change it.
	Roles     []string
	CanRemove bool
}

// invitationRow is one pending invitation.
type invitationRow struct {
	roster.Invitation
	CanRevoke bool
}

// membersData is the members page's. What it offers is what the rule
// (roster.AuthorizeMemberChange) allows the signed-in user; the rule is
// asked again, with the roles as they are then, when a form is posted.
type membersData struct {
	Members     []memberRow
	Invitations []invitationRow
	AddRoles    []string // the roles the signed-in user may add a member with
	InviteRoles []string // and invite one with
	Done        string
	// Errors by field ("who", "email", "form"), with the values to show
	// again.
	Errors map[string]string
	Who    string
	Email  string
	// The role a refused add or invite asked for, to show again.
	AddRole, InviteRole string
}

// doneTexts are what a change that went well says, by ?done= code.
var doneTexts = map[string]string{
	"added": "Member added.", "role": "Role changed.", "removed": "Member removed.",
	"invited": "Invitation sent.", "revoked": "Invitation revoked.",
	"invited-unsent": "Invitation recorded, but not e-mailed (this relay sends no mail): tell them to log in to the site with that address.",
	"origin-added":   "Callback origin added.", "origin-removed": "Callback origin removed.",
	"project-created": "Project created. Its owner signs in to its pages and makes its key on API Keys (or run caddy outstatic key create).",
	"project-deleted": "Project deleted: its key is revoked, its sessions end, its members, invitations and origins are gone.",
}

// checkWho checks a member's name by the identity rule: a GitHub login
// or an e-mail address.
func checkWho(who string) error {
	if strings.Contains(who, "@") {
		return checkEmail(who)
	}
	if _, err := identity.Login(who); err != nil {
		return errors.New("enter a GitHub login (letters, digits and single hyphens) or an e-mail address")
	}
	return nil
}

// checkEmail accepts one bare e-mail address, by the identity rule (a
// domain that would need folding or mapping to be valid is refused).
func checkEmail(email string) error {
	if _, err := identity.Email(email); err != nil {
		return errors.New("enter one e-mail address, such as ada@example.com, with its domain as registered")
	}
	return nil
}

// serveMembers shows the members page and applies its forms.
func (p *Pages) serveMembers(q *request) {
	if !p.authorize(q, "members.manage", "invites.manage", "roles.manage") {
		return
	}
	data := membersData{Errors: map[string]string{}}
	status, ok := p.applyChange(q, "members", &data.Done, func() (string, int, error) { return p.changeMembers(q, &data) })
	if !ok {
		return
	}
	if err := p.fillMembers(q, &data); err != nil {
		p.log.Error(q.r, "pages: reading members", zap.String("project", q.project.Slug), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The members cannot be read right now. Try again.")
		return
	}
	p.render(q, status, "members", data)
}

// fillMembers reads the members and invitations into data, with what
// the rule lets the signed-in user do to each.
func (p *Pages) fillMembers(q *request, data *membersData) error {
	ctx, roles := q.r.Context(), protocol.Roles()
	list, err := p.roster.Members(ctx, q.project.Slug)
	if err != nil {
		return err
	}
	owners := 0
	for _, m := range list {
		if m.Role == "owner" {
			owners++
		}
	}
	allowed := func(c roster.MemberChange) bool {
		c.Owners = owners
		return roster.AuthorizeMemberChange(q.role, c) == nil
	}
	for _, m := range list {
		row := memberRow{Who: m.Who, Role: m.Role, Configured: m.Source != "store"}
		target := roster.MemberChange{Who: m.Who, Role: m.Role, Configured: row.Configured}
		for _, r := range roles {
			target.Action, target.NewRole = roster.ActionRole, r
			if allowed(target) {
				row.Roles = append(row.Roles, r)
			}
		}
		if len(row.Roles) < 2 {
			row.Roles = nil
		}
		target.Action, target.NewRole = roster.ActionRemove, ""
		row.CanRemove = allowed(target)
		data.Members = append(data.Members, row)
	}
	invitations, err := p.roster.Invitations(ctx, q.project.Slug)
	if err != nil {
		return err
	}
	for _, inv := range invitations {
		data.Invitations = append(data.Invitations, invitationRow{Invitation: inv,
			CanRevoke: allowed(roster.MemberChange{Action: roster.ActionRevoke, Who: inv.Email, Invited: inv.Role})})
	}
	slices.SortFunc(data.Members, func(a, b memberRow) int {
		if c := slices.Index(roles, a.Role) - slices.Index(roles, b.Role); c != 0 {
			return c
		}
		return strings.Compare(a.Who, b.Who)
	})
	for _, r := range roles {
		if allowed(roster.MemberChange{Action: roster.ActionAdd, NewRole: r}) {
			data.AddRoles = append(data.AddRoles, r)
		}
		if allowed(roster.MemberChange{Action: roster.ActionInvite, NewRole: r}) {
			data.InviteRoles = append(data.InviteRoles, r)
		}
	}
	return nil
}

// changeMembers applies one members form. It returns the done code of a
// change made, or the status of a form refused (its reason in
// data.Errors), or the error of a store that failed. Whether the change
// is allowed is the relay's to say: it asks the rule under the members'
// lock, with the signed-in user's role and the target's as they are then.
func (p *Pages) changeMembers(q *request, data *membersData) (string, int, error) {
	ctx, slug, user := q.r.Context(), q.project.Slug, q.sess.User
	by := roster.Actor{Name: userName(user), Login: user.Login, Emails: user.Emails}
	action := q.r.PostFormValue("action")
	who := strings.TrimSpace(q.r.PostFormValue("who"))
	role := q.r.PostFormValue("role")
	field := "who"
	switch action {
	case "add", "role", "remove":
		data.Who = who
		if action == "add" {
			data.AddRole = role
		}
		if err := checkWho(who); err != nil {
			data.Errors["who"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
	case "invite", "revoke":
		field, who = "email", strings.TrimSpace(q.r.PostFormValue("email"))
		data.Email = who
		if action == "invite" {
			data.InviteRole = role
		}
		if err := checkEmail(who); err != nil {
			data.Errors["email"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
	default:
		data.Errors["form"] = "This form does not do that."
		return "", http.StatusBadRequest, nil
	}
	var err error
	done := map[string]string{"add": "added", "role": "role", "remove": "removed", "invite": "invited", "revoke": "revoked"}[action]
	switch action {
	case "add":
		_, err = p.roster.AddMember(ctx, slug, who, role, by)
	case "role":
		_, err = p.roster.SetRole(ctx, slug, who, role, by)
	case "remove":
		err = p.roster.RemoveMember(ctx, slug, who, by)
	case "invite":
		var sent bool
		var inv roster.Invitation
		inv, _, sent, err = p.roster.Invite(ctx, slug, who, role, by)
		if err != nil && inv.Email != "" {
			// Recorded, not sent: the mailer failed.
			p.log.Warn(q.r, "pages: invitation not sent", zap.String("project", slug), zap.Error(err))
			err, sent = nil, false
		}
		if err == nil && !sent {
			done = "invited-unsent"
		}
	case "revoke":
		err = p.roster.RevokeInvitation(ctx, slug, who, by)
	}
	if status := roster.MemberChangeStatus(err); err != nil && status != http.StatusInternalServerError {
		// A refusal: the rule's reason, next to the field when it is
		// about what was entered there.
		key := "form"
		if status == http.StatusBadRequest || errors.Is(err, roster.ErrMemberExists) ||
			errors.Is(err, roster.ErrInvitationPending) || (action == "add" || action == "invite") && errors.Is(err, roster.ErrConfigMember) {
			key = field
		}
		data.Errors[key] = err.Error()
		return "", status, nil
	} else if err != nil {
		return "", 0, err
	}
	p.log.Info(q.r, "pages: members changed", zap.String("project", slug), zap.String("by", by.Name),
		zap.String("action", action), zap.String("who", who), zap.String("role", role))
	return done, 0, nil
}
