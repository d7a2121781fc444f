package native

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// noRepositoryAccess answers a parser or media call of a session that has
// no GitHub token: an e-mail or OpenID Connect login, until the relay can
// stand in with a GitHub App installation token. The answer is 403
// no-repository-access, not GitHub's "Bad credentials": the dashboard
// refreshes and retries on that (PROTOCOL.md §8), and a refreshed session
// would still have no token, so it would loop.
func (n *Native) noRepositoryAccess(w http.ResponseWriter, p *Project) {
	n.log.Info("session refused", zap.String("project", p.Slug), zap.String("reason", "no GitHub token for the repository"))
	protocol.WriteError(w, http.StatusForbidden, protocol.CodeNoRepositoryAccess)
}
