package guard

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// The end of a session the relay ended early. When the relay refuses a
// session (a key rotated, a member removed, a refresh token used twice),
// the dashboard's refresh through the site's refresh route fails, and the
// stock site answers that failure with a 401 but keeps its session cookie,
// for as long as the login would have lasted: every page of the dashboard
// then shows errors instead of the sign-in page. The guard recognises the
// stock site's answer to a failed refresh and clears the cookie on it, so
// that the next page is the sign-in page.
//
// The stock site answers a refresh the relay refused and one that could not
// reach the relay alike ("Token refresh failed"). A guard with the site's
// key asks the service on that answer whether it answers now: if it does
// not, the failure is taken for its outage and the session is kept (its
// refresh token was never spent), so that an outage signs nobody out.

// RouteRefresh is the site's refresh route (POST), which the dashboard
// calls when the parser refuses its access token.
const RouteRefresh = "refresh"

// failedRefresh are the errors the stock site's refresh route answers a
// failed refresh with, each with status 401 (outstatic 2.2.4's dist, the
// refresh handler). Its 500 ("An unexpected error occurred") is not among
// them: it says nothing about the session.
var failedRefresh = map[string]bool{
	protocol.CodeSiteNoSession:          true,
	protocol.CodeSiteRefreshExpired:     true,
	protocol.CodeSiteNoRefreshToken:     true,
	protocol.CodeSiteTokenRefreshFailed: true,
}

// SessionEnd clears the site's session cookie on the answer to a failed
// refresh. The zero SessionEnd watches nothing.
type SessionEnd struct {
	watch  bool
	secure bool // the cookie clearing it is Secure
	// serviceAnswers reports whether the service answers the site's key
	// now; nil without a key.
	serviceAnswers func(context.Context) bool
}

// SessionOutcome is what Apply did with an answer.
type SessionOutcome int

// The outcomes of Apply.
const (
	// SessionUntouched: the answer is no failed refresh.
	SessionUntouched SessionOutcome = iota
	// SessionCleared: the cookie that clears the session was added.
	SessionCleared
	// SessionKept: a failed refresh while the service does not answer;
	// the session is kept.
	SessionKept
)

// sessionEnd is what r, a request to the auth route route, needs: a watch
// when it is a refresh. The app is asked for its answer uncompressed (next
// start gzips it otherwise), so that the guard reads what the browser
// will: a few bytes, which the server may still compress on their way out.
func (g *Guard) sessionEnd(r *http.Request, route authRoute) SessionEnd {
	if route.name != RouteRefresh || route.sub || r.Method != http.MethodPost {
		return SessionEnd{}
	}
	r.Header.Del("Accept-Encoding")
	return SessionEnd{watch: true, secure: secureCookieSite(route.origin.Scheme, route.origin.Host), serviceAnswers: g.serviceAnswers(r)}
}

// secureCookieSite reports whether the site's cookies are Secure on a site
// with scheme and host (lowercase, no port, IPv6 in brackets, as
// validate.Origin has it): on https, and on loopback names, which browsers
// count as secure and where the stock site in production sets its cookies
// Secure over plain http. A clearing cookie must have the attributes of the
// one it clears, or the browser keeps a Secure one.
func secureCookieSite(scheme, host string) bool {
	if scheme == "https" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && ip.IsLoopback()
}

// Watching reports whether the answer must be looked at.
func (s SessionEnd) Watching() bool { return s.watch }

// Holds reports whether an answer with status and header may be a failed
// refresh, so that it must be held back until its body is known: a 401
// with a JSON body that is not encoded (what cannot be read is not
// recognised).
func (s SessionEnd) Holds(status int, h http.Header) bool {
	if !s.watch || status != http.StatusUnauthorized {
		return false
	}
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// Apply adds the cookie that clears the site's session to h when status,
// h and body are the stock site's answer to a failed refresh, unless that
// answer may be the service's outage and the service does not answer now
// (asked within ctx).
func (s SessionEnd) Apply(ctx context.Context, status int, h http.Header, body []byte) SessionOutcome {
	if !s.Holds(status, h) {
		return SessionUntouched
	}
	var reply map[string]json.RawMessage
	var code string
	if json.Unmarshal(body, &reply) != nil || len(reply) != 1 || json.Unmarshal(reply["error"], &code) != nil || !failedRefresh[code] {
		return SessionUntouched
	}
	if code == protocol.CodeSiteTokenRefreshFailed && s.serviceAnswers != nil && !s.serviceAnswers(ctx) {
		return SessionKept
	}
	// What the stock site itself sends at sign-out: the cookie's name and
	// path, and the attributes it was set with.
	c := &http.Cookie{Name: protocol.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure}
	h.Add("Set-Cookie", c.String())
	h.Set("Cache-Control", "no-store")
	return SessionCleared
}
