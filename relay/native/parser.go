package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// serveParser answers #11: the dashboard's GraphQL, from the browser.
// The session carries the member's own GitHub token, which may reach much
// more than the project's repository: only what gqlpolicy.go allows, on
// the project's repository, goes on to GitHub, and only the changes the
// member's role allows (gqlroles.go).
func (n *Native) serveParser(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		if origin := relay.AllowedOrigin(r, n.allTargets(r.Context())); origin != "" {
			relay.WritePreflight(w, origin)
		} else {
			protocol.WriteError(w, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		}
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		protocol.WriteError(w, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed)
		return
	}
	relay.SetCORS(w.Header(), relay.AllowedOrigin(r, n.allTargets(r.Context())))
	c, p, ok := n.sessionFor(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		protocol.WriteError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge)
		return
	}
	// checkGraphQL applies adaptCreateBranch itself, before it checks.
	v, err := checkGraphQL(body, p.RepoOwner, p.RepoSlug)
	if err == nil {
		err = v.authorize(n.accessOf(r.Context(), c, p))
	}
	if err != nil {
		n.refuseOperation(w, p, c, v.Operation, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if v.RepositoryID != "" {
		id, err := n.projectRepositoryID(ctx, c.token, p)
		if errors.Is(err, errRepositoryHidden) {
			n.refuseOperation(w, p, c, v.Operation, err.Error())
			return
		}
		if err != nil {
			n.log.Info("looking up the project's repository ID failed", zap.String("project", p.Slug), zap.Error(err))
			protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
			return
		}
		if id != v.RepositoryID {
			n.refuseOperation(w, p, c, v.Operation, "repositoryId is not the project's repository")
			return
		}
	}
	res, err := n.postGraphQL(ctx, c.token, v.Body)
	if err != nil {
		n.log.Info("github graphql failed", zap.Error(err))
		protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
		return
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		n.dropAppToken(c, p)
	}
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(res.Body, 32<<20))
}

// postGraphQL sends one GraphQL request to GitHub with the member's token.
func (n *Native) postGraphQL(ctx context.Context, token string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.graphql, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "caddy-outstatic")
	return n.cfg.Client.Do(req)
}

// refuseOperation answers a query the policy refused. The body must not
// hold the word "credentials": the dashboard would take it for an expired
// session and refresh (PROTOCOL.md §8). The log names the operation and
// the reason, never the token or the variables' values.
func (n *Native) refuseOperation(w http.ResponseWriter, p *Project, c *sessionClaims, op, reason string) {
	if len(op) > 100 {
		op = op[:100]
	}
	n.log.Warn("graphql operation refused", zap.String("project", p.Slug), zap.String("login", c.Login),
		zap.String("operation", op), zap.String("reason", reason))
	protocol.WriteError(w, http.StatusForbidden, "forbidden-operation")
}

// repositoryIDQuery asks for the node ID of a repository.
const repositoryIDQuery = `query RepositoryID($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }`

var errRepositoryHidden = errors.New("github does not show the project's repository to this member")

// projectRepositoryID asks GitHub, with the member's token, for the node ID
// of the project's repository: the only repositoryId createRef may name.
// The dashboard's Create Branch is rare, so the ID is looked up each time
// rather than cached: no state to share between instances, and a
// repository deleted and made again under the same name is never confused
// with its former self.
func (n *Native) projectRepositoryID(ctx context.Context, token string, p *Project) (string, error) {
	body, err := json.Marshal(map[string]any{
		"query":         repositoryIDQuery,
		"variables":     map[string]string{"owner": p.RepoOwner, "name": p.RepoSlug},
		"operationName": "RepositoryID",
	})
	if err != nil {
		return "", err
	}
	res, err := n.postGraphQL(ctx, token, body)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("github answered %d", res.StatusCode)
	}
	var out struct {
		Data struct {
			Repository *struct {
				ID string `json:"id"`
			} `json:"repository"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("decoding github's answer: %v", err)
	}
	if out.Data.Repository == nil || out.Data.Repository.ID == "" {
		return "", errRepositoryHidden
	}
	return out.Data.Repository.ID, nil
}

// adaptCreateBranch rewrites the dashboard's CreateBranch for GitHub. For
// sessions that did not log in with GitHub directly (every relay login),
// the stock dashboard sends the ref as branchName and the repository's name
// as name, expecting the service's parser to put the ref in name, where
// GitHub's createRef wants it. Any other body is passed on as it is.
func adaptCreateBranch(body []byte) []byte {
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	var query string
	if json.Unmarshal(req["query"], &query) != nil || !strings.Contains(query, "createRef(") {
		return body
	}
	var vars map[string]json.RawMessage
	if json.Unmarshal(req["variables"], &vars) != nil {
		return body
	}
	var ref string
	if json.Unmarshal(vars["branchName"], &ref) != nil || !strings.HasPrefix(ref, "refs/heads/") {
		return body
	}
	vars["name"] = vars["branchName"]
	delete(vars, "branchName")
	delete(vars, "owner")
	req["variables"], _ = json.Marshal(vars)
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}
