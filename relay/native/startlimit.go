package native

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
)

// The login start route's default limit per client IP: a burst of 30, then
// one start every 2 seconds. A person starts a login a handful of times a
// day; a sign-in page behind a shared NAT (an office) stays well inside it.
const (
	DefaultStartBurst = 30
	DefaultStartEvery = 2 * time.Second
)

// StartLimit bounds how often one client IP may open the relay's login
// start route, which sends the browser to the provider with a fresh state:
// without a bound a client could make the relay mint states (and the
// provider see authorizations) without end.
type StartLimit struct {
	// Burst is how many starts one IP may make at once; default
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

// limitStarts answers 429, with Retry-After, a client IP past the start
// limit; others go on to h. The answer is a page, not JSON: the start
// route is a browser navigation.
func (n *Native) limitStarts(h http.HandlerFunc) http.HandlerFunc {
	if n.starts == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		ip := n.cfg.ClientIP(r)
		if !n.starts.Allow(ip) {
			retry := max(time.Second, n.starts.RetryAfter(ip)).Round(time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
			w.Header().Set("Cache-Control", "no-store")
			n.log.Warn("login starts refused: rate limit", zap.String("client_ip", ip))
			http.Error(w, "Too many logins started from this address. Wait a minute and start again from the sign-in page.", http.StatusTooManyRequests)
			return
		}
		h(w, r)
	}
}

// peerIP is the request's peer address without its port: the client IP
// when no proxy stands in front.
func peerIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
