package pages

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
)

// MemberStore keeps a project's members beyond the Caddyfile's, and its
// invitations. Members are named as in the Caddyfile: a GitHub login or
// an e-mail address, compared without case.
type MemberStore interface {
	// ListMembers lists project's stored members.
	ListMembers(ctx context.Context, project string) ([]Member, error)
	// SetMember adds who with role, or changes their role.
	SetMember(ctx context.Context, project, who, role string) error
	// RemoveMember removes who; ErrNoMember if they are not stored.
	RemoveMember(ctx context.Context, project, who string) error
	// ListInvitations lists project's pending invitations.
	ListInvitations(ctx context.Context, project string) ([]Invitation, error)
	// Invite invites email with role, on behalf of by, and sends the
	// invitation.
	Invite(ctx context.Context, project, email, role, by string) error
	// RevokeInvitation revokes the pending invitation of email.
	RevokeInvitation(ctx context.Context, project, email string) error
}

// ErrNoMember is a change of a member, or an invitation, that is not there.
var ErrNoMember = errors.New("no such member")

// Member is a stored member.
type Member struct {
	Who  string `json:"who"`
	Role string `json:"role"`
}

// Invitation is a pending invitation.
type Invitation struct {
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	By      string    `json:"by,omitempty"`
	Expires time.Time `json:"expires"`
}

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
	Invitations []Invitation
	Roles       []string // the roles the signed-in user may grant
	Stored      bool     // members can be added (a member store exists)
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
	"origin-added": "Callback origin added.", "origin-removed": "Callback origin removed.",
}

// rank is role's power: 0 for the most powerful, len for none.
func rank(role string) int {
	if i := slices.Index(native.Roles(), role); i >= 0 {
		return i
	}
	return len(native.Roles())
}

// githubLogin is what GitHub accepts as a login.
var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// checkWho checks a member's name: a GitHub login or an e-mail address.
func checkWho(who string) error {
	if githubLogin.MatchString(who) {
		return nil
	}
	if strings.Contains(who, "@") {
		return checkEmail(who)
	}
	return errors.New("enter a GitHub login (letters, digits and single hyphens) or an e-mail address")
}

// checkEmail accepts a bare e-mail address only.
func checkEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return errors.New("enter one e-mail address, such as ada@example.com")
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
	mine := rank(q.role)
	for who, role := range q.project.Members {
		data.Members = append(data.Members, memberRow{Who: who, Role: role, Configured: true})
	}
	data.Stored = p.members != nil
	if p.members != nil {
		stored, err := p.members.ListMembers(q.r.Context(), q.project.Slug)
		if err != nil {
			return err
		}
		for _, m := range stored {
			data.Members = append(data.Members, memberRow{Who: m.Who, Role: m.Role,
				Editable: (q.can("members.manage") || q.can("roles.manage")) && rank(m.Role) >= mine})
		}
		if data.Invitations, err = p.members.ListInvitations(q.r.Context(), q.project.Slug); err != nil {
			return err
		}
	}
	slices.SortFunc(data.Members, func(a, b memberRow) int {
		if c := rank(a.Role) - rank(b.Role); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Who), strings.ToLower(b.Who))
	})
	for _, r := range native.Roles() {
		if rank(r) >= mine {
			data.Roles = append(data.Roles, r)
		}
	}
	data.CanAdd = data.Stored && q.can("members.manage")
	data.CanRole = data.Stored && q.can("roles.manage")
	data.CanInvite = data.Stored && q.can("invites.manage")
	return nil
}

// changeMembers applies one members form. It returns the done code of a
// change made, or the status of a form refused (its reason in
// data.Errors), or the error of a store that failed.
func (p *Pages) changeMembers(q *request, data *membersData) (string, int, error) {
	ctx, slug := q.r.Context(), q.project.Slug
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
	if p.members == nil {
		data.Errors["form"] = "Members are kept in the Caddyfile only: change them there."
		return "", http.StatusConflict, nil
	}
	if action != "remove" && action != "revoke" && (!native.ValidRole(role) || rank(role) < rank(q.role)) {
		data.Errors["form"] = "You may grant a role up to your own (" + q.role + ")."
		return "", http.StatusForbidden, nil
	}
	switch action {
	case "add", "role", "remove":
		data.Who = who
		if err := checkWho(who); err != nil {
			data.Errors["who"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
		if _, ok := q.project.Members[strings.ToLower(who)]; ok {
			data.Errors["who"] = who + " is a member in the Caddyfile: change them there."
			return "", http.StatusConflict, nil
		}
		if action != "add" {
			current, err := p.storedRole(ctx, slug, who)
			if err != nil {
				return "", 0, err
			}
			if current == "" {
				data.Errors["form"] = who + " is not a stored member."
				return "", http.StatusNotFound, nil
			}
			if rank(current) < rank(q.role) {
				data.Errors["form"] = who + " is " + current + ", above your role (" + q.role + ")."
				return "", http.StatusForbidden, nil
			}
		}
	case "invite", "revoke":
		email := strings.TrimSpace(q.r.PostFormValue("email"))
		data.Email = email
		if err := checkEmail(email); err != nil {
			data.Errors["email"] = err.Error()
			return "", http.StatusBadRequest, nil
		}
		who = email
	}
	var err error
	done := map[string]string{"add": "added", "role": "role", "remove": "removed", "invite": "invited", "revoke": "revoked"}[action]
	switch action {
	case "add", "role":
		err = p.members.SetMember(ctx, slug, who, role)
	case "remove":
		err = p.members.RemoveMember(ctx, slug, who)
	case "invite":
		err = p.members.Invite(ctx, slug, who, role, q.sess.User.Login)
	case "revoke":
		err = p.members.RevokeInvitation(ctx, slug, who)
	}
	if errors.Is(err, ErrNoMember) {
		data.Errors["form"] = who + " is not there any more."
		return "", http.StatusNotFound, nil
	}
	if err != nil {
		return "", 0, err
	}
	p.log.Info("pages: members changed", zap.String("project", slug), zap.String("by", q.sess.User.Login),
		zap.String("action", action), zap.String("who", who), zap.String("role", role))
	return done, 0, nil
}

// storedRole is who's stored role in project, "" for none.
func (p *Pages) storedRole(ctx context.Context, project, who string) (string, error) {
	list, err := p.members.ListMembers(ctx, project)
	if err != nil {
		return "", err
	}
	for _, m := range list {
		if strings.EqualFold(m.Who, who) {
			return m.Role, nil
		}
	}
	return "", nil
}
