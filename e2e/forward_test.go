//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// forwardBackend is the relay in forward mode in front of
// internal/fakeservice, standing in for outstatic.com: the fake plays the
// provider round trip and GitHub's GraphQL too.
type forwardBackend struct {
	svc *fakeservice.Service
	url string
}

// newForwardBackend starts the fake service with a fresh key and the
// public site's callback origin, as outstatic.com would hold them.
func newForwardBackend(t *testing.T, s *stack) backend {
	s.key = newKey()
	svc := fakeservice.New(s.key, true, s.public+"/outstatic")
	svc.Permissions = allPermissions
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Release)
	svc.BaseURL = srv.URL
	return &forwardBackend{svc: svc, url: srv.URL}
}

func (b *forwardBackend) relayConfig(s *stack) string {
	return fmt.Sprintf(`upstream %s/api
		api_key {env.OUTSTATIC_E2E_KEY}
		callback_origin %s/outstatic
		app_origin http://localhost:%d`, b.url, s.public, s.sitePort)
}

func (b *forwardBackend) sites(*stack) string { return "" }

func (b *forwardBackend) guardService(*stack) string { return b.url + "/api" }

func (b *forwardBackend) ready(*testing.T, *stack) {}

func (b *forwardBackend) mint(_ *testing.T, s *stack) string { return b.svc.Mint(s.callback()) }

func (b *forwardBackend) count(_ *testing.T, endpoint string) int { return b.svc.Count(endpoint) }

func (b *forwardBackend) email() string { return b.svc.Email }

func (b *forwardBackend) hops() []string { return []string{b.url + "/api/authorize?"} }

func (b *forwardBackend) projectID() string { return b.svc.ProjectID }

func (b *forwardBackend) screenshot() string { return "dashboard-forward.png" }

// githubToken is the session's own token: the fake service answers the
// GraphQL itself, with the sessions it issued.
func (b *forwardBackend) githubToken(_ *testing.T, accessToken string) string { return accessToken }

func (b *forwardBackend) graphQL() []graphQLCall {
	var out []graphQLCall
	for _, r := range b.svc.Requests() {
		if r.Path != "/github/parser" || r.Method != http.MethodPost {
			continue
		}
		op, _ := r.Body["operationName"].(string)
		if op == "" {
			q, _ := r.Body["query"].(string)
			if f := strings.Fields(q); len(f) > 1 {
				op, _, _ = strings.Cut(f[1], "(")
			}
		}
		token, _ := strings.CutPrefix(r.Authorization, "Bearer ")
		out = append(out, graphQLCall{Token: token, Operation: op})
	}
	return out
}
