package relay

import (
	"net/http"
	"strings"

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

// AllowedOrigin returns r's Origin if it is exactly the site of one of
// targets' origins, else "". The value is echoed as sent: the browser
// compares it byte for byte with its own serialization.
func AllowedOrigin(r *http.Request, targets validate.Targets) string {
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

// WritePreflight answers a parser preflight that origin, an allowed
// origin (AllowedOrigin), sent.
func WritePreflight(w http.ResponseWriter, origin string) {
	h := w.Header()
	SetCORS(h, origin)
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// SetCORS lets origin read the response, if it is not "". Vary: Origin is
// set either way, since the answer depends on the Origin header.
func SetCORS(h http.Header, origin string) {
	AddVary(h, "Origin")
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
	}
}

// AddVary adds name to the Vary header unless it is listed already.
func AddVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
