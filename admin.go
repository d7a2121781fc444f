package outstatic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(KeysAdmin{})
}

// KeysAdmin manages the native relay's API keys through Caddy's admin API:
//
//	GET  /outstatic/keys                     the projects' keys (prefix, creation time)
//	POST /outstatic/keys/<project>/create    a key for a project that has none, shown once
//	POST /outstatic/keys/<project>/rotate    a new key; the old one fails at once
//	POST /outstatic/keys/<project>/revoke    no key: the project's key and sessions stop
//
// `caddy outstatic key ...` calls these. The admin API listens on
// localhost:2019 unless configured otherwise; keep it off the network.
type KeysAdmin struct{}

// CaddyModule returns the Caddy module information.
func (KeysAdmin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.outstatic",
		New: func() caddy.Module { return new(KeysAdmin) },
	}
}

// Routes returns the admin routes.
func (KeysAdmin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: adminapi.KeysPath, Handler: caddy.AdminHandlerFunc(handleKeyList)},
		{Pattern: adminapi.KeysPath + "/", Handler: caddy.AdminHandlerFunc(handleKeyChange)},
		{Pattern: adminapi.OriginsPath, Handler: caddy.AdminHandlerFunc(handleOriginList)},
		{Pattern: adminapi.OriginsPath + "/", Handler: caddy.AdminHandlerFunc(handleOriginChange)},
	}
}

func handleKeyList(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET only")}
	}
	out := []roster.KeyInfo{}
	err := eachProject(r.Context(), func(n *native.Native, slug string) error {
		key, ok, err := n.Roster().StoredKey(r.Context(), slug)
		if ok {
			out = append(out, key)
		}
		return err
	})
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func handleKeyChange(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("POST only")}
	}
	project, action, n, err := adminRoute(r, adminapi.KeysPath+"/", "create|rotate|revoke")
	if err != nil {
		return err
	}
	reply := adminapi.KeyReply{Project: project}
	ctx := operatorContext(r, "")
	switch action {
	case "create", "rotate":
		key, info, err := n.CreateKey(ctx, project, action == "rotate")
		if errors.Is(err, roster.ErrKeyExists) {
			return caddy.APIError{HTTPStatus: http.StatusConflict, Err: err}
		}
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
		}
		reply.Key, reply.Prefix, reply.Created = key, info.Prefix, info.Created
	case "revoke":
		if err := n.RevokeKey(ctx, project); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
		}
		reply.Revoked = true
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("unknown action %q: want create, rotate or revoke", action)}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(reply)
}

// adminRoute reads /<prefix><project>/<action> and finds the native relay
// that serves the project; want lists the actions, for the error. A slug
// that breaks the slug rule (roster.CheckSlug) names no project: 404.
// What the call changes is recorded in the audit log as the operator's
// (operatorContext).
func adminRoute(r *http.Request, prefix, want string) (string, string, *roster.Roster, error) {
	project, action, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if !ok {
		return "", "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("want %s<project>/%s", prefix, want)}
	}
	if err := roster.CheckSlug(project); err != nil {
		return "", "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	}
	n, err := nativeFor(r.Context(), project)
	switch {
	case err != nil:
		return "", "", nil, caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	case n == nil:
		return "", "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no native relay serves project %q", project)}
	}
	return project, action, n.Roster(), nil
}

// operatorContext is r's context, naming the admin API's caller as the
// operator for the audit log: by, or the ?by= the CLI sends, else
// "admin-api".
func operatorContext(r *http.Request, by string) context.Context {
	if by == "" {
		by = r.URL.Query().Get("by")
	}
	if by == "" {
		by = "admin-api"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return audit.WithActor(r.Context(), audit.Actor{By: by, Operator: true, ClientIP: host})
}

// Interface guards
var _ caddy.AdminRouter = (*KeysAdmin)(nil)
