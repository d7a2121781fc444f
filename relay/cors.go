package relay

import (
	"net/http"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// CORS for the GraphQL parser, the one endpoint the browser calls itself
// (PROTOCOL.md §2, #11). Only the sites of the callback origins may read
// its answers; no other endpoint answers CORS, so a page elsewhere cannot
// use the relay from a visitor's browser.

// CORS values of the parser's preflight.
const (
	corsAllowMethods = "POST, OPTIONS"
	corsAllowHeaders = "authorization, content-type, x-project-id"
	corsMaxAge       = "600"
)

// allowedOrigin returns r's Origin if it is exactly the site origin of a
// callback origin, else "". The value is echoed as sent: the browser
// compares it byte for byte with its own serialization.
func (f *Forwarder) allowedOrigin(r *http.Request) string {
	return allowedOrigin(r, f.targets)
}

// allowedOrigin returns r's Origin if it is exactly the site of one of
// targets' origins, else "".
func allowedOrigin(r *http.Request, targets validate.Targets) string {
	values := r.Header.Values("Origin")
	if len(values) != 1 {
		return ""
	}
	origin := values[0]
	scheme, hostport, ok := strings.Cut(origin, "://")
	// An origin is scheme://host[:port] and nothing else; "null", paths,
	// userinfo, queries and fragments name no site.
	if !ok || hostport == "" || strings.ContainsAny(hostport, `/?#\@`) {
		return ""
	}
	for _, o := range targets.Origins {
		if o.MatchesSite(scheme, hostport) {
			return origin
		}
	}
	return ""
}

// preflight answers the parser's OPTIONS locally: the service's own CORS
// policy is written for its origin, not for the sites behind this relay.
func (f *Forwarder) preflight(w http.ResponseWriter, r *http.Request, c *call) {
	answerPreflight(w, r, c, f.targets)
}

// answerPreflight answers a parser preflight for the sites of targets.
func answerPreflight(w http.ResponseWriter, r *http.Request, c *call, targets validate.Targets) {
	origin := allowedOrigin(r, targets)
	if origin == "" {
		c.refuse(w, http.StatusForbidden, protocol.CodeForbiddenOrigin, "origin is not a callback origin's site")
		return
	}
	h := w.Header()
	setCORS(h, origin)
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// setCORS lets origin read the response, if it is not "". Vary: Origin is
// set either way, since the answer depends on the Origin header.
func setCORS(h http.Header, origin string) {
	addVary(h, "Origin")
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
	}
}

// addVary adds name to the Vary header unless it is listed already.
func addVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
