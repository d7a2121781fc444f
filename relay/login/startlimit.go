package login

import (
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The login start routes' default limit per client and project: a burst
// of 30, then one start every 2 seconds. A person starts a login a handful
// of times a day; a sign-in page behind a shared NAT (an office) stays well
// inside it.
const (
	DefaultStartBurst = 30
	DefaultStartEvery = 2 * time.Second
)

// StartLimit bounds how often one client may open the relay's login start
// routes (GitHub's, or the development login's, and the OpenID Connect
// issuer's) for one project: each sends the browser to the provider with a
// fresh state, and without a bound a client could make the relay mint
// states (and the provider see authorizations) without end. A client is
// its address (an IPv6 address's /64), and each project counts
// apart, so a flood at one project's sign-in stops no other project's.
type StartLimit struct {
	// Burst is how many starts one client may make at once; default
	// DefaultStartBurst. Negative turns the limit off.
	Burst int
	// Every is the time one start takes to come back; default
	// DefaultStartEvery.
	Every time.Duration
}

// limiter builds the limit's buckets, or nil when it is off.
func (s StartLimit) limiter(now func() time.Time) (*ratelimit.Limiter, error) {
	if s.Burst < 0 {
		return nil, nil
	}
	if s.Burst == 0 {
		s.Burst = DefaultStartBurst
	}
	if s.Every <= 0 {
		s.Every = DefaultStartEvery
	}
	return ratelimit.New(ratelimit.Config{Every: s.Every, Burst: s.Burst, Now: now})
}

// allowStart reports whether r, a login start with prov for project p,
// is within the start limit of its client in p; if not it answers 429,
// with Retry-After. The answer is a page, not JSON: the start route is a
// browser navigation. The client is the request's own address: the route
// is not keyed, so a client header on it counts for nothing.
func (l *Logins) allowStart(w http.ResponseWriter, r *http.Request, p *roster.Project, prov Provider) bool {
	if l.starts == nil {
		return true
	}
	client := l.ownClient(r)
	key := limitKey(p, client)
	if l.starts.Allow(key) {
		return true
	}
	retry := max(time.Second, l.starts.RetryAfter(key)).Round(time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	l.log.Warn(r, "login start refused: rate limit", zap.String("project", p.Slug), zap.String("provider", prov.Name()),
		zap.String("client", client))
	l.count(prov.Name(), Refused, protocol.CodeTooManyRequests)
	http.Error(w, "Too many logins started from this address. Wait a minute and start again from the sign-in page.", http.StatusTooManyRequests)
	return false
}
