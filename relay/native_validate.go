package relay

import (
	"errors"
	"net/http"
	"net/url"

	"go.uber.org/zap"

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
	p := n.authProject(w, r, "invalid-api-key")
	if p == nil {
		return
	}
	var in struct {
		GitHubToken *string `json:"github_token"`
		CallbackURL *string `json:"callback_url"`
	}
	if err := readBody(r, &in); err != nil || in.CallbackURL == nil {
		writeError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return
	}
	t, err := p.Targets.Check(publicURL(*in.CallbackURL, p.Targets, n.cfg.AppHosts))
	if err != nil {
		writeCheckError(w, err)
		return
	}
	if in.GitHubToken == nil || *in.GitHubToken == "" {
		writeError(w, http.StatusUnauthorized, "invalid-github-token")
		return
	}
	m, err := n.githubUser(r.Context(), *in.GitHubToken)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// GitHub did not answer: not the token's fault.
			n.log.Warn("validate-github-user: github unreachable", zap.String("project", p.Slug), zap.Error(ue.Err))
			writeError(w, http.StatusBadGateway, codeUnavailable)
			return
		}
		n.log.Info("validate-github-user: github refused the token", zap.String("project", p.Slug), zap.Error(err))
		writeError(w, http.StatusUnauthorized, "invalid-github-token")
		return
	}
	if m.Role = n.roleOf(p, m.Login, m.emails); m.Role == "" {
		n.log.Info("validate-github-user: not a member", zap.String("project", p.Slug), zap.String("login", m.Login))
		// The stock site reads a non-2xx answer, or one without valid and
		// exchange_token, as not-collaborator.
		writeJSONBody(w, http.StatusForbidden, map[string]any{"valid": false, "error": "not-collaborator"})
		return
	}
	token, err := n.mintExchangeToken(r.Context(), exchangePayload{Project: p.Slug, Callback: t.URL, member: m.member})
	if err != nil {
		n.log.Error("minting an exchange token", zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, codeUnavailable)
		return
	}
	// The site redeems the token with its listen address; the redemption
	// reads the public callback recorded here instead.
	n.callbacks().Remember(token, t.URL)
	n.log.Info("github user validated", zap.String("project", p.Slug), zap.String("login", m.Login), zap.String("role", m.Role))
	writeJSONBody(w, http.StatusOK, map[string]any{
		"valid": true, "exchange_token": token,
		"user": map[string]any{"name": m.Name, "login": m.Login, "avatar_url": m.Avatar},
	})
}
