package native

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// validate-github-user (#6). A site with its own GitHub OAuth app logs a
// user in with GitHub itself; when that user is not a collaborator of the
// repository, it asks the service whether the user is a member of the
// project, with the user's GitHub token. A member gets an exchange token,
// which the site redeems at once (#5) naming its listen address as the
// callback (PROTOCOL.md §8). No guard sees that token arrive, so the relay
// records the public callback for it itself, as a guard would have.

// serveValidateGitHubUser answers #6.
func (n *Native) serveValidateGitHubUser(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, protocol.CodeInvalidAPIKey)
	if p == nil {
		return
	}
	var in struct {
		GitHubToken *string `json:"github_token"`
		CallbackURL *string `json:"callback_url"`
	}
	if err := protocol.ReadJSON(r.Body, &in); err != nil || in.CallbackURL == nil {
		protocol.WriteError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return
	}
	_, t, err := n.checkCallback(r.Context(), p, *in.CallbackURL)
	if err != nil {
		writeCheckError(w, err)
		return
	}
	if in.GitHubToken == nil || *in.GitHubToken == "" {
		protocol.WriteError(w, http.StatusUnauthorized, "invalid-github-token")
		return
	}
	u, err := n.gh.User(r.Context(), *in.GitHubToken)
	if err != nil {
		if github.Unreachable(err) {
			// GitHub did not answer: not the token's fault.
			n.log.Warn("validate-github-user: github unreachable", zap.String("project", p.Slug), zap.Error(err))
			protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
			return
		}
		n.log.Info("validate-github-user: github refused the token", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusUnauthorized, "invalid-github-token")
		return
	}
	m := githubMember(u, github.Credential{Token: *in.GitHubToken})
	if m.Role, err = n.roster.Admit(r.Context(), p, m.Login, m.Emails); err != nil {
		n.log.Error("checking a member", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	if m.Role == "" {
		n.log.Info("validate-github-user: not a member", zap.String("project", p.Slug), zap.String("login", m.Login))
		// The stock site reads a non-2xx answer, or one without valid and
		// exchange_token, as not-collaborator.
		protocol.WriteJSON(w, http.StatusForbidden, map[string]any{"valid": false, "error": protocol.CodeNotCollaborator})
		return
	}
	token, err := n.mintExchangeToken(r.Context(), exchangePayload{Project: p.Slug, Callback: t.URL, member: m})
	if err != nil {
		n.log.Error("minting an exchange token", zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	// The site redeems the token with its listen address; the redemption
	// reads the public callback recorded here instead.
	n.callbacks().Remember(token, t.URL)
	n.log.Info("github user validated", zap.String("project", p.Slug), zap.String("login", m.Login), zap.String("role", m.Role))
	protocol.WriteJSON(w, http.StatusOK, map[string]any{
		"valid": true, "exchange_token": token,
		"user": map[string]any{"name": m.Name, "login": m.Login, "avatar_url": m.Avatar},
	})
}
