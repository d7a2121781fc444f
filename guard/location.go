package guard

import (
	"net/http"
	"strings"
)

// LocationFix fixes the app's redirects. Behind a proxy the stock site
// names itself by its listen address (http://localhost:3000) in every
// absolute Location it sends, whatever host the browser asked for; the fix
// replaces that origin with the public one, which the guard has already
// matched against a callback origin. Nothing else is touched. The response
// writer that applies it, once, before the header is written, is Caddy's
// (the root package's locationRewriter), so that Caddy's writer interfaces
// (flush, hijack) pass through as they do for every other handler.
type LocationFix struct {
	appHosts   []string // lowercase host:port of the app, scheme-independent
	publicSite string   // scheme://host[:port] the browser used
}

// Matched reports whether the public site matched a callback origin:
// only then is there anything to fix.
func (f LocationFix) Matched() bool { return f.publicSite != "" }

// Apply rewrites h's Location header if it names the app's own origin.
func (f LocationFix) Apply(h http.Header) {
	if loc := h.Get("Location"); loc != "" {
		if fixed, ok := rewriteLocation(loc, f.appHosts, f.publicSite); ok {
			h.Set("Location", fixed)
		}
	}
}

// rewriteLocation replaces an http or https origin that is one of appHosts.
// The site honours X-Forwarded-Proto for some redirects and not others, so
// the app's scheme is not compared: its host and port are what identify it.
func rewriteLocation(loc string, appHosts []string, publicSite string) (string, bool) {
	var rest string
	switch {
	case len(loc) > 7 && strings.EqualFold(loc[:7], "http://"):
		rest = loc[7:]
	case len(loc) > 8 && strings.EqualFold(loc[:8], "https://"):
		rest = loc[8:]
	default:
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := strings.ToLower(rest[:end])
	for _, h := range appHosts {
		if host == h {
			return publicSite + rest[end:], true
		}
	}
	return "", false
}
