package forward

import (
	"net/http"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// allowedOrigin returns r's Origin if it is exactly the site origin of a
// callback origin, else "". The value is echoed as sent: the browser
// compares it byte for byte with its own serialization.
func (f *Forwarder) allowedOrigin(r *http.Request) string {
	return relay.AllowedOrigin(r, f.targets)
}

// preflight answers the parser's OPTIONS locally: the service's own CORS
// policy is written for its origin, not for the sites behind this relay.
func (f *Forwarder) preflight(w http.ResponseWriter, r *http.Request, c *call) {
	origin := relay.AllowedOrigin(r, f.targets)
	if origin == "" {
		c.refuse(w, http.StatusForbidden, protocol.CodeForbiddenOrigin, "origin is not a callback origin's site")
		return
	}
	relay.WritePreflight(w, origin)
}
