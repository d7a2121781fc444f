package login

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// validate-github-user (#6). A site with its own GitHub OAuth app logs a
// user in with GitHub itself; when that user is not a collaborator of the
// repository, it asks the service whether the user is a member of the
// project, with the user's GitHub token. A member gets an exchange token,
// which the site redeems at once (#5) naming its listen address as the
// callback (PROTOCOL.md §8). No guard sees that token arrive, so the relay
// records the public callback for it itself, as a guard would have.

// serveValidateGitHubUser answers #6.
func (l *Logins) serveValidateGitHubUser(w http.ResponseWriter, r *http.Request, p *roster.Project) {
	var in struct {
		GitHubToken *string `json:"github_token"`
	}
	s, ok := l.readStart(w, r, p, protocol.ValidateGitHubUser, false, &in)
	if !ok {
		return
	}
	if in.GitHubToken == nil || *in.GitHubToken == "" {
		protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeInvalidGitHubToken)
		return
	}
	u, err := l.cfg.GitHub.User(r.Context(), *in.GitHubToken)
	if err != nil {
		if github.Unreachable(err) {
			// GitHub did not answer: not the token's fault.
			l.log.Warn(r, "validate-github-user: github unreachable", zap.String("project", p.Slug), zap.Error(err))
			protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
			return
		}
		l.log.Info(r, "validate-github-user: github refused the token", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeInvalidGitHubToken)
		return
	}
	token, m, err := l.enter(r.Context(), "github", p, s.callback, "", githubMember(u, github.Credential{Token: *in.GitHubToken}))
	switch {
	case errors.Is(err, ErrNotMember):
		l.log.Info(r, "validate-github-user: not a member", zap.String("project", p.Slug), zap.String("login", m.Login))
		// The stock site reads a non-2xx answer, or one without valid and
		// exchange_token, as not-collaborator.
		protocol.WriteJSON(w, http.StatusForbidden, map[string]any{"valid": false, "error": protocol.CodeNotCollaborator})
		return
	case err != nil:
		l.log.Error(r, "validate-github-user", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	// The site redeems the token with its listen address; the redemption
	// reads the public callback recorded here instead.
	l.cfg.Callbacks.Remember(token, s.callback)
	l.log.Info(r, "github user validated", zap.String("project", p.Slug), zap.String("login", m.Login), zap.String("role", m.Role))
	protocol.WriteJSON(w, http.StatusOK, map[string]any{
		"valid": true, "exchange_token": token,
		"user": map[string]any{"name": m.Name, "login": m.Login, "avatar_url": m.Avatar},
	})
}
