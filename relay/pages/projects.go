package pages

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The Projects page, <root>projects, for the relay's operators (the
// relay's operators line, by the identity rule): every project the relay
// serves, a form that makes one and, for each made at run time, a form
// that deletes it once its slug is typed again. What is made and deleted
// goes through the roster's project rule (roster.ProjectSpec.Check) and
// its changes, as the admin API's do, with the operator's powers: the
// owner named is added by the one member rule, acting as the operator.
// Project owners keep their Members, API Keys and Activity pages.

// projectsData is the Projects page's.
type projectsData struct {
	Projects []projectRow
	Done     string
	// Errors by field (slug, repo, origin, plan, owner, form) and by
	// "delete-<slug>" for a refused delete.
	Errors map[string]string
	// The create form's values, shown again with its errors.
	Slug, Repo, Origin, Plan, Owner string
}

// projectRow is one project of the list.
type projectRow struct {
	roster.ProjectInfo
	// Pages is the project's Members page.
	Pages string
	// Error is a refused delete's reason.
	Error string
}

// projectFields are the fields of the create form, which a refusal may
// name (roster.Refusal's Field).
var projectFields = []string{"slug", "repo", "origin", "plan", "owner"}

// serveProjects shows the Projects page and applies its forms.
func (p *Pages) serveProjects(q *request) {
	if !p.signedIn(q) {
		return
	}
	u := q.sess.User
	if !p.operators.Includes(u.Login, u.Emails) {
		p.log.Info(q.r, "pages: the Projects page refused: not an operator", zap.String("login", u.Login))
		p.render(q, http.StatusForbidden, "message", messageData{Title: "Not an operator",
			Text: "You are signed in as " + userName(u) + ", who is not one of this relay's operators (its operators line)."})
		return
	}
	q.role = roster.OperatorRole
	data := projectsData{Errors: map[string]string{}, Plan: "pro"}
	status, ok := p.applyChange(q, operatorPage, &data.Done, func() (string, int, error) { return p.changeProjects(q, &data) })
	if !ok {
		return
	}
	list, err := p.roster.Stored().Infos(q.r.Context())
	if err != nil {
		p.log.Error(q.r, "pages: reading the projects", zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The projects cannot be read right now. Try again.")
		return
	}
	for _, info := range list {
		data.Projects = append(data.Projects, projectRow{ProjectInfo: info, Pages: p.root + info.Account + "/" + info.Slug + "/members",
			Error: data.Errors["delete-"+info.Slug]})
	}
	p.render(q, status, "projects", data)
}

// changeProjects applies one form of the Projects page: the done code of
// a change made, or the status of one refused (its reason in
// data.Errors), or the error of a store that failed.
func (p *Pages) changeProjects(q *request, data *projectsData) (string, int, error) {
	ctx, form := q.r.Context(), q.r.PostFormValue
	by := roster.OperatorActor(userName(q.sess.User))
	switch form("action") {
	case "create":
		data.Slug, data.Repo, data.Origin = strings.TrimSpace(form("slug")), strings.TrimSpace(form("repo")), strings.TrimSpace(form("origin"))
		data.Plan, data.Owner = form("plan"), strings.TrimSpace(form("owner"))
		spec := roster.ProjectSpec{Slug: data.Slug, Repo: data.Repo, Plan: data.Plan, Owner: data.Owner}
		if data.Origin != "" {
			spec.Origins = []string{data.Origin}
		}
		_, err := p.roster.Stored().Create(ctx, spec, by)
		return p.projectChanged(data, err, "project-created", "")
	case "delete":
		slug := form("slug")
		if strings.TrimSpace(form("confirm")) != slug {
			data.Errors["delete-"+slug] = "Type the project's slug, " + slug + ", to delete it."
			return "", http.StatusBadRequest, nil
		}
		return p.projectChanged(data, p.roster.Stored().Delete(ctx, slug, by), "project-deleted", "delete-"+slug)
	}
	data.Errors["form"] = "This form does not do that."
	return "", http.StatusBadRequest, nil
}

// projectChanged answers a project change's err: done for none, its
// reason beside its field (or field, for a delete) for a refusal.
func (p *Pages) projectChanged(data *projectsData, err error, done, field string) (string, int, error) {
	var refusal *roster.Refusal
	switch {
	case err == nil:
		return done, 0, nil
	case errors.As(err, &refusal):
		if field == "" {
			field = "form"
			if slices.Contains(projectFields, refusal.Field) {
				field = refusal.Field
			}
		}
		data.Errors[field] = refusal.Reason
		return "", roster.ProjectChangeStatus(err), nil
	}
	return "", 0, err
}
