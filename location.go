package outstatic

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// locationRewriter fixes the app's redirects. Behind a proxy the stock site
// names itself by its listen address (http://localhost:3000) in every
// absolute Location it sends, whatever host the browser asked for; the
// rewriter replaces that origin with the public one, which the guard has
// already matched against a callback origin. Nothing else is touched.
type locationRewriter struct {
	caddyhttp.ResponseWriterWrapper
	appHosts    []string // lowercase host:port of the app, scheme-independent
	publicSite  string   // scheme://host[:port] the browser used
	wroteHeader bool
}

func (lw *locationRewriter) WriteHeader(status int) {
	if lw.wroteHeader {
		lw.ResponseWriterWrapper.WriteHeader(status)
		return
	}
	if status >= 200 {
		lw.wroteHeader = true
	}
	h := lw.Header()
	if loc := h.Get("Location"); loc != "" {
		if fixed, ok := rewriteLocation(loc, lw.appHosts, lw.publicSite); ok {
			h.Set("Location", fixed)
		}
	}
	lw.ResponseWriterWrapper.WriteHeader(status)
}

func (lw *locationRewriter) Write(p []byte) (int, error) {
	if !lw.wroteHeader {
		lw.WriteHeader(http.StatusOK)
	}
	return lw.ResponseWriterWrapper.Write(p)
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
