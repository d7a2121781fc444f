package native

import (
	"context"
	"net/http"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// Who a request counts as for the login limits (startlimit.go and the
// magic link's, provider_email.go): one browser in one project.
//
// On a keyed call the browser is the one the guard names in
// protocol.ClientIPHeader: the guard (like the site's server) makes every
// browser's calls from one address, which would put them all under one
// limit. The header is taken off every request as it arrives (ServeHTTP)
// and believed only once authProject has accepted the call's key; on any
// other request (the start route, which the browser opens itself) it is
// dropped unread. Without it the client is the request's own address:
// Caddy's client IP, trusted_proxies considered, which is the site's
// server when the site calls the relay itself.

// clientClaim is what a request said of its client, kept beside it.
type clientClaim struct {
	values []string // protocol.ClientIPHeader's values, taken off the request
	keyed  bool     // the call's key was accepted: values count
}

type clientClaimKey struct{}

// withClientClaim takes protocol.ClientIPHeader off r and keeps its values
// in the context of the request it returns.
func withClientClaim(r *http.Request) *http.Request {
	c := &clientClaim{values: relay.TakeClientClaim(r.Header)}
	return r.WithContext(context.WithValue(r.Context(), clientClaimKey{}, c))
}

// trustClientClaim records that r's key was accepted; only authProject
// calls it.
func trustClientClaim(r *http.Request) {
	if c, ok := r.Context().Value(clientClaimKey{}).(*clientClaim); ok {
		c.keyed = true
	}
}

// clientOf is the client r counts as (relay.ClientKey of its address): the
// browser a keyed call names, else r's own client IP. A keyed call that
// names it by anything but one IP address gets relay.ErrClientClaim.
func (n *Native) clientOf(r *http.Request) (string, error) {
	if c, ok := r.Context().Value(clientClaimKey{}).(*clientClaim); ok && c.keyed {
		ip, named, err := relay.ParseClientClaim(c.values)
		if err != nil {
			return "", err
		}
		if named {
			return relay.ClientKey(ip.String()), nil
		}
	}
	return n.ownClient(r), nil
}

// ownClient is the client r counts as by its own address, whatever it
// claims: for requests that are not keyed.
func (n *Native) ownClient(r *http.Request) string { return relay.ClientKey(n.cfg.ClientIP(r)) }

// limitKey is the key of who in project p, for a limit kept in one table
// for every project: each project's clients and addresses count apart.
func limitKey(p *Project, who string) string { return p.Slug + "\n" + who }
