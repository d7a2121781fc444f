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

// The native relay's stored callback origins through Caddy's admin API,
// beside the keys (KeysAdmin's routes):
//
//	GET  /outstatic/origins                               every project's origins: configured and stored
//	POST /outstatic/origins/<project>/add?origin=<url>    stores an origin (validate.ParseOrigin's rules)
//	POST /outstatic/origins/<project>/remove?origin=<url> removes a stored origin
//
// `caddy outstatic origin ...` calls these; so do the API Keys pages,
// through the same native methods.

func handleOriginList(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("GET only")}
	}
	out := []adminapi.OriginsReply{}
	err := eachProject(r.Context(), func(n *native.Native, slug string) error {
		list, err := n.Roster().Origins(r.Context(), slug)
		out = append(out, adminapi.OriginsReply{Project: slug, OriginList: list})
		return err
	})
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func handleOriginChange(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("POST only")}
	}
	project, action, n, err := adminRoute(r, adminapi.OriginsPath+"/", "add|remove?origin=<url>")
	if err != nil {
		return err
	}
	origin := r.URL.Query().Get("origin")
	if origin == "" {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New("the origin parameter is required")}
	}
	ctx := operatorContext(r, "")
	switch action {
	case "add":
		_, err = n.AddOrigin(ctx, project, origin)
	case "remove":
		err = n.RemoveOrigin(ctx, project, origin)
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("unknown action %q: want add or remove", action)}
	}
	var refused *roster.OriginRefused
	switch {
	case errors.As(err, &refused):
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	case errors.Is(err, roster.ErrOriginConfigured):
		return caddy.APIError{HTTPStatus: http.StatusConflict, Err: err}
	case errors.Is(err, roster.ErrOriginUnknown):
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	case err != nil:
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	list, err := n.Origins(r.Context(), project)
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(adminapi.OriginsReply{Project: project, OriginList: list})
}
