package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// serveParser answers #11: the dashboard's GraphQL, from the browser.
func (n *Native) serveParser(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		answerPreflight(w, r, nil, n.origins)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method-not-allowed")
		return
	}
	setCORS(w.Header(), allowedOrigin(r, n.origins))
	c, _, ok := n.sessionFor(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		writeError(w, http.StatusRequestEntityTooLarge, "request-too-large")
		return
	}
	body = adaptCreateBranch(body)
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.graphql, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "service-unavailable")
		return
	}
	req.Header.Set("Authorization", "bearer "+c.GitHub)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "caddy-outstatic")
	res, err := n.cfg.Client.Do(req)
	if err != nil {
		n.log.Info("github graphql failed", zap.Error(err))
		writeError(w, http.StatusBadGateway, "service-unavailable")
		return
	}
	defer res.Body.Close()
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(res.Body, 32<<20))
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
