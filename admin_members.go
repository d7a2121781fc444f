package outstatic

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(MembersAdmin{})
}

// MembersAdmin manages the native relay's stored members and invitations
// through Caddy's admin API:
//
//	GET  /outstatic/members                          every project's members and pending invitations
//	GET  /outstatic/members/<project>/log            the recorded changes (who, what, when)
//	POST /outstatic/members/<project>/add            {"who", "role"}: a GitHub login or an e-mail address
//	POST /outstatic/members/<project>/role           {"who", "role"}: another role for a stored member
//	POST /outstatic/members/<project>/remove         {"who"}
//	POST /outstatic/members/<project>/invite         {"email", "role"}: e-mailed, or the link answered
//	POST /outstatic/members/<project>/revoke-invite  {"email"}
//
// Every POST may name who asks in "by", for the log. The caller is the
// operator (roster.OperatorActor): whoever reaches Caddy's admin endpoint
// owns the machine, so holds every permission and may grant any role, and
// is judged by the same rule as every other door (roster.
// AuthorizeMemberChange): adding or inviting someone who is a member
// already, or invited already, changing a member listed in the Caddyfile,
// and removing or demoting the last owner are refused (409).
// `caddy outstatic member ...` calls these. Keep the admin API off the
// network.
type MembersAdmin struct{}

// CaddyModule returns the Caddy module information.
func (MembersAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.outstatic_members",
		New: func() caddy.Module { return new(MembersAdmin) },
	}
}

// Routes returns the admin routes.
func (MembersAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: adminapi.MembersPath, Handler: caddy.AdminHandlerFunc(handleMemberList)},
		{Pattern: adminapi.MembersPath + "/", Handler: caddy.AdminHandlerFunc(handleMemberChange)},
	}
}

func handleMemberList(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET only")}
	}
	out := []adminapi.ProjectMembers{}
	err := eachProject(r.Context(), func(n *native.Native, slug string) error {
		members, err := n.Roster().Members(r.Context(), slug)
		if err != nil {
			return err
		}
		invites, err := n.Roster().Invitations(r.Context(), slug)
		out = append(out, adminapi.ProjectMembers{Project: slug, Members: members, Invitations: invites})
		return err
	})
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	return writeAdminJSON(w, out)
}

func handleMemberChange(w http.ResponseWriter, r *http.Request) error {
	project, action, n, err := adminRoute(r, adminapi.MembersPath+"/", "add|remove|role|invite|revoke-invite|log")
	if err != nil {
		return err
	}
	if action == "log" {
		if r.Method != http.MethodGet {
			return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET only")}
		}
		entries, err := n.MemberLog(r.Context(), project)
		if err != nil {
			return memberAPIError(err)
		}
		return writeAdminJSON(w, entries)
	}
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("POST only")}
	}
	var in adminapi.MemberRequest
	if err := adminapi.ReadRequest(r.Body, &in); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("want a JSON body {who|email, role, by}: %v", err)}
	}
	if in.By == "" {
		in.By = "admin-api"
	}
	ctx, by := operatorContext(r, in.By), roster.OperatorActor(in.By)
	var out any
	switch action {
	case "add":
		out, err = n.AddMember(ctx, project, in.Who, in.Role, by)
	case "role":
		out, err = n.SetRole(ctx, project, in.Who, in.Role, by)
	case "remove":
		err = n.RemoveMember(ctx, project, in.Who, by)
		out = map[string]any{"project": project, "removed": in.Who}
	case "invite":
		inv, link, sent, ierr := n.Invite(ctx, project, in.Email, in.Role, by)
		out, err = adminapi.InviteReply{Invitation: inv, Project: project, Link: link, Sent: sent}, ierr
	case "revoke-invite":
		err = n.RevokeInvitation(ctx, project, in.Email, by)
		out = map[string]any{"project": project, "revoked": in.Email}
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("unknown action %q: want add, remove, role, invite, revoke-invite or log", action)}
	}
	if err != nil {
		return memberAPIError(err)
	}
	return writeAdminJSON(w, out)
}

// memberAPIError answers a member change's error with its status.
func memberAPIError(err error) error {
	return caddy.APIError{HTTPStatus: roster.MemberChangeStatus(err), Err: err}
}

func writeAdminJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

// Interface guards
var _ caddy.AdminRouter = (*MembersAdmin)(nil)
