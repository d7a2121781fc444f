package pages

import (
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The API Keys page, in the two steps of outstatic.com's: the callback
// origins the project's sites may log in from, then the key. A new key is
// shown once, in the answer to the form that made it (never stored, never
// cached, never in a URL); afterwards only its prefix.

// apiKeysData is the API Keys page's.
type apiKeysData struct {
	Configured []string // callback origins from the Caddyfile, read-only
	Stored     []string // callback origins added here, removable
	Key        roster.KeyInfo
	HasKey     bool
	NewKey     string // the key just made, shown once
	PublicURL  string // the site's OUTSTATIC_API_URL
	Done       string
	Errors     map[string]string
	Origin     string // the origin entered, shown again beside its error
}

// serveAPIKeys shows the API Keys page and applies its forms.
func (p *Pages) serveAPIKeys(q *request) {
	if !p.authorize(q, "projects.manage") {
		return
	}
	data := apiKeysData{Errors: map[string]string{}, PublicURL: p.signIn.PublicBase()}
	status, ok := p.applyChange(q, "api-keys", &data.Done, func() (string, int, error) { return p.changeAPIKeys(q, &data) })
	if !ok {
		return
	}
	ctx := q.r.Context()
	origins, err := p.roster.Origins(ctx, q.project.Slug)
	if err == nil {
		data.Key, data.HasKey, err = p.roster.StoredKey(ctx, q.project.Slug)
	}
	if err != nil {
		p.log.Error(q.r, "pages: reading the API keys page", zap.String("project", q.project.Slug), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The project's keys cannot be read right now. Try again.")
		return
	}
	data.Configured, data.Stored = origins.Configured, origins.Stored
	p.render(q, status, "apikeys", data)
}

// changeAPIKeys applies one form of the API Keys page. A new key is left
// in data, to be shown in this answer (status 200), and nowhere else.
func (p *Pages) changeAPIKeys(q *request, data *apiKeysData) (string, int, error) {
	ctx, slug, by := q.r.Context(), q.project.Slug, userName(q.sess.User)
	switch q.r.PostFormValue("action") {
	case "origin-add":
		raw := strings.TrimSpace(q.r.PostFormValue("origin"))
		data.Origin = raw
		if raw == "" {
			data.Errors["origin"] = "Enter the URL of the site's dashboard, such as https://blog.example.com/outstatic."
			return "", http.StatusBadRequest, nil
		}
		canon, err := p.roster.AddOrigin(ctx, slug, raw)
		var refused *roster.OriginRefused
		if errors.As(err, &refused) {
			data.Errors["origin"] = refused.Error()
			return "", http.StatusBadRequest, nil
		}
		if err != nil {
			return "", 0, err
		}
		p.log.Info(q.r, "pages: callback origin added", zap.String("project", slug), zap.String("by", by), zap.String("origin", canon))
		return "origin-added", 0, nil
	case "origin-remove":
		raw := q.r.PostFormValue("origin")
		err := p.roster.RemoveOrigin(ctx, slug, raw)
		if errors.Is(err, roster.ErrOriginConfigured) || errors.Is(err, roster.ErrOriginUnknown) {
			data.Errors["form"] = err.Error()
			return "", http.StatusConflict, nil
		}
		if err != nil {
			return "", 0, err
		}
		p.log.Info(q.r, "pages: callback origin removed", zap.String("project", slug), zap.String("by", by), zap.String("origin", raw))
		return "origin-removed", 0, nil
	case "key":
		key, info, err := p.roster.CreateKey(ctx, slug, true)
		if err != nil {
			return "", 0, err
		}
		data.NewKey = key
		p.log.Info(q.r, "pages: API key generated", zap.String("project", slug), zap.String("by", by), zap.String("prefix", info.Prefix))
		return "", http.StatusOK, nil
	}
	data.Errors["form"] = "This form does not do that."
	return "", http.StatusBadRequest, nil
}
