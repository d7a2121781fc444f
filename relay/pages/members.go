package pages

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
)

// memberRow is one line of the members table.
type memberRow struct {
	Who        string
	Role       string
	Configured bool // from the Caddyfile: read-only here
	Editable   bool // the signed-in user may change or remove them
}

// membersData is the members page's.
type membersData struct {
	Members     []memberRow
	Invitations []native.Invitation
	Roles       []string // the roles the signed-in user may grant
	CanAdd      bool
	CanRole     bool
	CanInvite   bool
	Done        string
	// Errors by field ("who", "email"), with the values to show again.
	Errors map[string]string
	Who    string
	Email  string
}

// doneTexts are what a change that went well says, by ?done= code.
var doneTexts = map[string]string{
	"added": "Member added.", "role": "Role changed.", "removed": "Member removed.",
	"invited": "Invitation sent.", "revoked": "Invitation revoked.",
	"invited-unsent": "Invitation recorded, but not e-mailed (this relay sends no mail): tell them to log in to the site with that address.",
	"origin-added":   "Callback origin added.", "origin-removed": "Callback origin removed.",
}

// rank is role's power: 0 for the most powerful, len for none.
func rank(role string) int {
	if i := slices.Index(native.Roles(), role); i >= 0 {
		return i
	}
	return len(native.Roles())
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
	status := http.StatusOK
	if q.r.Method == http.MethodPost {
		done, st, err := p.changeMembers(q, &data)
		if err != nil {
			p.log.Error("pages: changing members", zap.String("project", q.project.Slug), zap.Error(err))
			p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The change could not be saved. Try again.")
			return
		}
		if done != "" {
			http.Redirect(q.w, q.r, q.base+"/members?done="+done, http.StatusSeeOther)
			return
		}
		status = st
	} else {
		data.Done = doneTexts[q.r.URL.Query().Get("done")]
	}
	if err := p.fillMembers(q, &data); err != nil {
		p.log.Error("pages: reading members", zap.String("project", q.project.Slug), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The members cannot be read right now. Try again.")
		return
	}
	p.render(q, status, "members", data)
}

// fillMembers reads the members and invitations into data.
func (p *Pages) fillMembers(q *request, data *membersData) error {
	ctx, mine := q.r.Context(), rank(q.role)
	list, err := p.relay.Members(ctx, q.project.Slug)
	if err != nil {
		return err
	}
	for _, m := range list {
		configured := m.Source != "store"
		data.Members = append(data.Members, memberRow{Who: m.Who, Role: m.Role, Configured: configured,
			Editable: !configured && rank(m.Role) >= mine})
	}
	if data.Invitations, err = p.relay.Invitations(ctx, q.project.Slug); err != nil {
		return err
	}
	slices.SortFunc(data.Members, func(a, b memberRow) int {
		if c := rank(a.Role) - rank(b.Role); c != 0 {
			return c
		}
		return strings.Compare(a.Who, b.Who)
	})
	for _, r := range native.Roles() {
		if rank(r) >= mine {
			data.Roles = append(data.Roles, r)
		}
	}
	data.CanAdd = q.can("members.manage")
	data.CanRole = q.can("roles.manage")
	data.CanInvite = q.can("invites.manage")
	return nil
}

// changeMembers applies one members form. It returns the done code of a
// change made, or the status of a form refused (its reason in
// data.Errors), or the error of a store that failed.
func (p *Pages) changeMembers(q *request, data *membersData) (string, int, error) {
	ctx, slug, by := q.r.Context(), q.project.Slug, q.sess.User.Login
	action := q.r.PostFormValue("action")
	who := strings.TrimSpace(q.r.PostFormValue("who"))
	role := q.r.PostFormValue("role")
	need := map[string]string{"add": "members.manage", "remove": "members.manage", "role": "roles.manage",
		"invite": "invites.manage", "revoke": "invites.manage"}[action]
	if need == "" {
		data.Errors["form"] = "This form does not do that."
		return "", http.StatusBadRequest, nil
	}
	if !q.can(need) {
		data.Errors["form"] = "Your role (" + q.role + ") does not allow this: it needs " + need + "."
		return "", http.StatusForbidden, nil
	}
	if action != "remove" && action != "revoke" && (!native.ValidRole(role) || rank(role) < rank(q.role)) {
		data.Errors["form"] = "You may grant a role up to your own (" + q.role + ")."
		return "", http.StatusForbidden, nil
	}
	field := "who"
	switch action {
	case "add", "role", "remove":
		data.Who = who
		if err := checkWho(who); err != nil {
			data.Errors["who"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
		if action != "add" {
			current, err := p.storedRole(ctx, slug, who)
			if err != nil {
				return "", 0, err
			}
			if current != "" && rank(current) < rank(q.role) {
				data.Errors["form"] = who + " is " + current + ", above your role (" + q.role + ")."
				return "", http.StatusForbidden, nil
			}
		}
	case "invite", "revoke":
		field, who = "email", strings.TrimSpace(q.r.PostFormValue("email"))
		data.Email = who
		if err := checkEmail(who); err != nil {
			data.Errors["email"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
	}
	var err error
	done := map[string]string{"add": "added", "role": "role", "remove": "removed", "invite": "invited", "revoke": "revoked"}[action]
	switch action {
	case "add":
		_, err = p.relay.AddMember(ctx, slug, who, role, by)
	case "role":
		_, err = p.relay.SetRole(ctx, slug, who, role, by)
	case "remove":
		err = p.relay.RemoveMember(ctx, slug, who, by)
	case "invite":
		var sent bool
		var inv native.Invitation
		inv, _, sent, err = p.relay.Invite(ctx, slug, who, role, by)
		if err != nil && inv.Email != "" {
			// Recorded, not sent: the mailer failed.
			p.log.Warn("pages: invitation not sent", zap.String("project", slug), zap.Error(err))
			err, sent = nil, false
		}
		if err == nil && !sent {
			done = "invited-unsent"
		}
	case "revoke":
		err = p.relay.RevokeInvitation(ctx, slug, who, by)
	}
	switch {
	case errors.Is(err, native.ErrConfigMember):
		data.Errors[field] = who + " is a member in the Caddyfile: change them there."
		return "", http.StatusConflict, nil
	case errors.Is(err, native.ErrNoSuchMember), errors.Is(err, native.ErrNoSuchInvitation):
		data.Errors["form"] = who + " is not there any more."
		return "", http.StatusNotFound, nil
	case errors.Is(err, native.ErrBadMember):
		data.Errors[field] = err.Error()
		return "", http.StatusBadRequest, nil
	case err != nil:
		return "", 0, err
	}
	p.log.Info("pages: members changed", zap.String("project", slug), zap.String("by", by),
		zap.String("action", action), zap.String("who", who), zap.String("role", role))
	return done, 0, nil
}

// storedRole is who's stored role in project, "" for none.
func (p *Pages) storedRole(ctx context.Context, project, who string) (string, error) {
	list, err := p.relay.Members(ctx, project)
	if err != nil {
		return "", err
	}
	k, _ := identity.Member(who)
	for _, m := range list {
		if m.Source == "store" && m.Who == k {
			return m.Role, nil
		}
	}
	return "", nil
}
