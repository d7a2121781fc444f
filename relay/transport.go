package relay

import "net/http"

// IdleConnsPerService is how many idle connections to one service (GitHub,
// an identity provider, the service a forwarding relay calls) a relay keeps
// for reuse. Go's default, two, makes a relay under a few dozen concurrent
// logins dial again, and on TLS shake hands again, for most of its calls;
// 32 still did at 50 concurrent logins (bench/login.sh), each of which has
// one call to GitHub under way at a time, two while it reads the user and
// their addresses at once.
const IdleConnsPerService = 100

// NewServiceTransport returns http.DefaultTransport's settings keeping
// IdleConnsPerService idle connections per host, with no bound on the
// total (a relay calls the few hosts its configuration names; GitHub's
// are two): the transport of a relay's calls to the services it speaks for.
func NewServiceTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = IdleConnsPerService
	t.MaxIdleConns = 0
	return t
}
