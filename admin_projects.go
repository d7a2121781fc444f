package outstatic

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(ProjectsAdmin{})
}

// ProjectsAdmin manages the native relay's projects and reads its audit
// log through Caddy's admin API:
//
//	GET    /outstatic/projects          every project: the Caddyfile's and those in the store
//	POST   /outstatic/projects          {"slug", "repo", "origins", "plan", "owner", "by"}: a project made at run time
//	GET    /outstatic/projects/<slug>   one project
//	DELETE /outstatic/projects/<slug>   deletes a project made at run time: its key revoked, its sessions ended
//	GET    /outstatic/audit             the audit log: ?project=, ?since=24h, ?kind=, ?member=, ?limit=, ?offset=
//
// A project is judged by the rule the Caddyfile's are
// (roster.ProjectSpec.Check); a slug that is taken, or is the Caddyfile's,
// is refused (409), and a project of the Caddyfile is never changed here.
// The project is made in the store of the newest native relay of this
// Caddy, and every relay on that store serves it within a second or so.
// A project's audit log is read from the relay that serves it; the whole
// log (no ?project) from the newest relay's store.
// `caddy outstatic project ...` and `caddy outstatic audit` call these.
// Keep the admin API off the network.
type ProjectsAdmin struct{}

// CaddyModule returns the Caddy module information.
func (ProjectsAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.outstatic_projects",
		New: func() caddy.Module { return new(ProjectsAdmin) },
	}
}

// Routes returns the admin routes.
func (ProjectsAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: adminapi.ProjectsPath, Handler: caddy.AdminHandlerFunc(handleProjects)},
		{Pattern: adminapi.ProjectsPath + "/", Handler: caddy.AdminHandlerFunc(handleProject)},
		{Pattern: adminapi.AuditPath, Handler: caddy.AdminHandlerFunc(handleAudit)},
	}
}

// newestNative is the relay that makes projects and answers the audit
// log; 404 when this Caddy runs none.
func newestNative() (*native.Native, error) {
	list := natives()
	if len(list) == 0 {
		return nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no native relay runs in this Caddy")}
	}
	return list[0], nil
}

// handleProjects lists the projects (GET) or makes one (POST).
func handleProjects(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet:
		out := []roster.ProjectInfo{}
		seen := map[string]bool{}
		for _, n := range natives() {
			infos, err := n.Roster().Stored().Infos(r.Context())
			if err != nil {
				return projectAPIError(err)
			}
			for _, info := range infos {
				if key := info.Slug + "\x00" + info.Source; !seen[key] {
					seen[key] = true
					out = append(out, info)
				}
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
		return writeAdminJSON(w, out)
	case http.MethodPost:
		var in adminapi.ProjectRequest
		if err := adminapi.ReadRequest(r.Body, &in); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("want a JSON body {slug, repo, origins, plan, owner, by}: %v", err)}
		}
		n, err := projectRelay(r, in.Slug)
		if err != nil {
			return err
		}
		ctx := operatorContext(r, in.By)
		spec := roster.ProjectSpec{Slug: in.Slug, Repo: in.Repo, Origins: in.Origins, Plan: in.Plan, Owner: in.Owner}
		p, err := n.Roster().Stored().Create(ctx, spec, roster.OperatorActor(audit.ActorOf(ctx).By))
		if p == nil {
			return projectAPIError(err)
		}
		info, ierr := n.Roster().Stored().Info(ctx, p.Slug)
		if err == nil {
			err = ierr
		}
		if err != nil { // made, but its owner was not added
			return projectAPIError(err)
		}
		return writeAdminJSON(w, info)
	}
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET or POST only")}
}

// projectRelay is the relay a change of slug goes to: the newest that
// serves it (its Caddyfile's or its store's), else the newest.
func projectRelay(r *http.Request, slug string) (*native.Native, error) {
	if roster.CheckSlug(slug) == nil {
		n, err := nativeFor(r.Context(), slug)
		if err != nil {
			return nil, projectAPIError(fmt.Errorf("%w: %v", roster.ErrUnavailable, err))
		}
		if n != nil {
			return n, nil
		}
	}
	return newestNative()
}

// handleProject shows (GET) or deletes (DELETE) one project.
func handleProject(w http.ResponseWriter, r *http.Request) error {
	slug := strings.TrimPrefix(r.URL.Path, adminapi.ProjectsPath+"/")
	n, err := projectRelay(r, slug)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		if err := roster.CheckSlug(slug); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
		}
		info, err := n.Roster().Stored().Info(r.Context(), slug)
		if err != nil {
			return projectAPIError(fmt.Errorf("project %q: %w", slug, err))
		}
		return writeAdminJSON(w, info)
	case http.MethodDelete:
		ctx := operatorContext(r, "")
		if err := n.Roster().Stored().Delete(ctx, slug, roster.OperatorActor(audit.ActorOf(ctx).By)); err != nil {
			return projectAPIError(err)
		}
		return writeAdminJSON(w, adminapi.ProjectDeleted{Project: slug, Deleted: true})
	}
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET or DELETE only")}
}

// projectAPIError answers a project change's error with its status.
func projectAPIError(err error) error {
	return caddy.APIError{HTTPStatus: roster.ProjectChangeStatus(err), Err: err}
}

// handleAudit answers the audit log.
func handleAudit(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET only")}
	}
	q, err := auditQuery(r)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	var n *native.Native
	if len(q.Projects) == 1 {
		n, err = projectRelay(r, q.Projects[0])
	} else {
		n, err = newestNative()
	}
	if err != nil {
		return err
	}
	page, err := n.Roster().AuditEvents(r.Context(), q)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	return writeAdminJSON(w, page)
}

// auditQuery reads the audit route's query; every value that does not
// parse is refused.
func auditQuery(r *http.Request) (audit.Query, error) {
	v := r.URL.Query()
	q := audit.Query{All: true, Kind: audit.Kind(v.Get("kind"))}
	if p := v.Get("project"); p != "" {
		if err := roster.CheckSlug(p); err != nil {
			return q, fmt.Errorf("project: %v", err)
		}
		q.All, q.Projects = false, []string{p}
	}
	if q.Kind != "" && !audit.ValidKind(q.Kind) {
		return q, fmt.Errorf("kind %q: want one of %v", q.Kind, audit.Kinds())
	}
	if m := v.Get("member"); m != "" {
		if q.Member = roster.MemberKey(m); q.Member == "" {
			return q, fmt.Errorf("member %q: want a GitHub login or an e-mail address", m)
		}
	}
	if s := v.Get("since"); s != "" {
		since, err := parseSince(s, time.Now())
		if err != nil {
			return q, err
		}
		q.Since = since
	}
	for name, to := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%s %q: want a number, 0 or more", name, s)
			}
			*to = n
		}
	}
	return q, nil
}

// parseSince reads since: a duration back from now (Caddy's, so 7d
// works) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := caddy.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (24h, 7d) or an RFC 3339 time", s)
}

// Interface guards
var _ caddy.AdminRouter = (*ProjectsAdmin)(nil)
