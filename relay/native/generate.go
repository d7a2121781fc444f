package native

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/completion"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// AI answers a project's completions (#8): the OpenAI-compatible endpoint
// and the per-project budget spent before each call. Several projects may
// share one AI: the limiter counts each project apart.
type AI struct {
	Streamer *completion.Streamer
	Limiter  *completion.Limiter
}

// The texts the dashboard shows for a refused completion. The stock
// dashboard shows a non-2xx answer to the user as its body text
// (PROTOCOL.md §8), so these are short plain sentences, not JSON codes.
const (
	textAINotPro        = "AI completions need the Pro plan for this project."
	textAINotConfigured = "AI completions are not configured on this relay."
)

// serveGenerate answers the editor's AI completions: the key names the
// project, which must be Pro, have an AI configured, send a request
// completion accepts and have budget left; the completion then streams
// straight through (completion.Streamer flushes every event). The body is
// judged before the budget is spent: a refused request costs the project
// nothing.
func (n *Native) serveGenerate(w http.ResponseWriter, r *http.Request, p *roster.Project) {
	ai, own := n.ai[p.Slug]
	if !own || p.Stored {
		ai = n.cfg.AI // a project made at run time has the relay's
	}
	switch {
	case !p.Pro:
		plainText(w, http.StatusForbidden, textAINotPro)
		return
	case ai == nil || ai.Streamer == nil:
		plainText(w, http.StatusNotImplemented, textAINotConfigured)
		return
	}
	req, err := completion.ReadRequest(r.Body)
	if err != nil {
		completion.RefuseRequest(w, err)
		return
	}
	if ai.Limiter != nil && !ai.Limiter.Allow(p.Slug) {
		n.log.Info(r, "completion refused", zap.String("project", p.Slug), zap.String("reason", "rate limited"))
		completion.RefuseRateLimited(w)
		return
	}
	_ = ai.Streamer.Stream(r.Context(), w, req)
}

// plainText answers a short text the dashboard shows as it is.
func plainText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}
