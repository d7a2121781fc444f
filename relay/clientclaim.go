package relay

import (
	"context"
	"net/http"
)

// Who a request to the native relay counts as, for its login limits: one
// browser in one project.
//
// On a keyed call the browser is the one the guard names in
// protocol.ClientIPHeader: the guard (like the site's server) makes every
// browser's calls from one address, which would put them all under one
// limit. The native relay takes the header off every request as it
// arrives (WithClientClaim) and believes it only once its key check has
// accepted the call's key (TrustClientClaim); on any other request (a
// start route, which the browser opens itself) it is dropped unread.
// Without it the client is the request's own address: Caddy's client IP,
// trusted_proxies considered, which is the site's server when the site
// calls the relay itself.

// clientClaim is what a request said of its client, kept beside it.
type clientClaim struct {
	values []string // protocol.ClientIPHeader's values, taken off the request
	keyed  bool     // the call's key was accepted: values count
}

type clientClaimKey struct{}

// WithClientClaim takes protocol.ClientIPHeader off r and returns r's
// context keeping its values, for the request that goes on.
func WithClientClaim(r *http.Request) context.Context {
	c := &clientClaim{values: TakeClientClaim(r.Header)}
	return context.WithValue(r.Context(), clientClaimKey{}, c)
}

// TrustClientClaim records that r's key was accepted; only the native
// relay's key check calls it.
func TrustClientClaim(r *http.Request) {
	if c, ok := r.Context().Value(clientClaimKey{}).(*clientClaim); ok {
		c.keyed = true
	}
}

// ClaimedClient is the client r counts as (ClientKey of its address): the
// browser a keyed call names, else own, r's own. A keyed call that names
// it by anything but one IP address gets ErrClientClaim.
func ClaimedClient(r *http.Request, own string) (string, error) {
	if c, ok := r.Context().Value(clientClaimKey{}).(*clientClaim); ok && c.keyed {
		ip, named, err := ParseClientClaim(c.values)
		if err != nil {
			return "", err
		}
		if named {
			return ClientKey(ip.String()), nil
		}
	}
	return own, nil
}
