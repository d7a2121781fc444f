package guard

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// checkAuthRoute applies the checks of one auth route. It returns done when
// it has answered the request itself.
func (g *Guard) checkAuthRoute(w http.ResponseWriter, r *http.Request, route authRoute, v verdict.Verdict) (done bool, err error) {
	if g.refusePro && protocol.IsProRoute(route.name) && !v.Pro() {
		g.refuse(r, "pro-only route without a verified pro key", zap.String("route", route.name), zap.Stringer("key_state", v.State))
		return true, g.refuseProRoute(w, r, route, v)
	}
	switch route.name {
	case protocol.RouteCallback, protocol.RouteMagicLinkCallback:
		return g.checkCallback(w, r, route)
	case protocol.RouteLogin, protocol.RouteGoogleLogin:
		if route.name == protocol.RouteGoogleLogin {
			if err := g.checkReturnQuery(r, route); err != nil {
				g.refuse(r, "google-login query refused", zap.Error(err))
				return true, protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidURL)
			}
		}
		if isPrefetch(r) {
			if g.edgeStart[route.name] {
				// Next prefetches both routes on every view of the sign-in
				// page; only a click starts a login.
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusNoContent)
				return true, nil
			}
			break
		}
		if !protocol.StartsLogin(route.name, r.Method) {
			break
		}
		start := g.startGoogle
		if route.name == protocol.RouteLogin {
			start = g.startGitHub
		}
		return g.checkStart(w, r, route, g.bindLogin, start)
	case protocol.RouteSignout:
		// The stock site refuses sign-out unless Origin equals its own
		// listen address, so behind a proxy sign-out always fails. The
		// guard makes the same-origin check against the public origin, then
		// shows the app the origin it believes it has.
		if r.Method != http.MethodPost {
			break
		}
		if !sameOrigin(r.Header.Get("Origin"), route.origin) {
			g.refuse(r, "sign-out from another origin")
			return true, protocol.WriteError(w, http.StatusForbidden, protocol.CodeInvalidOrigin)
		}
		r.Header.Set("Origin", route.origin.Scheme+"://"+g.appHosts[0])
	case protocol.RouteMagicLink:
		if r.Method != http.MethodPost || isPrefetch(r) {
			break
		}
		return g.checkStart(w, r, route, g.bindMagic, g.startMagicLink)
	}
	return false, nil
}

// checkStart handles a request that starts a relay login: with bind, it
// must come from the site's own page, and the browser gets the binding
// cookie; the guard starts the login itself (start) when it does so for
// the route, else the app does.
func (g *Guard) checkStart(w http.ResponseWriter, r *http.Request, route authRoute, bind bool,
	start func(http.ResponseWriter, *http.Request, authRoute) error) (done bool, err error) {
	if bind {
		if reason := startedBySite(r, route); reason != "" {
			g.refuse(r, "login start not from the site's own page", zap.String("route", route.name), zap.String("why", reason))
			return true, g.refuseStart(w, r, route)
		}
	}
	if g.edgeStart[route.name] {
		return true, start(w, r, route)
	}
	if bind {
		g.binding.set(w, route.origin.Scheme == "https", route.origin.SiteOrigin())
	}
	return false, nil
}

// checkCallback checks a callback route: its shape, the login binding, a
// replay; then records where the token arrived and serves the documented
// path from the site's own.
func (g *Guard) checkCallback(w http.ResponseWriter, r *http.Request, route authRoute) (done bool, err error) {
	if route.sub {
		g.refuse(r, "path goes on past the callback route")
		return true, protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return true, protocol.WriteError(w, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed)
	}
	q, err := validate.CheckCallbackQuery(route.name, r.URL.RawQuery)
	if err != nil {
		g.refuse(r, "callback query refused", zap.String("route", route.name), zap.Error(err))
		return true, g.redirectToDashboard(w, r, route, protocol.CodeAuthCallbackFailed)
	}
	if q.Kind == validate.CallbackExchange {
		secure := route.origin.Scheme == "https"
		bind := g.bindLogin
		if route.name == validate.RouteMagicLinkCallback {
			bind = g.bindMagic
		}
		if bind {
			// A binding names one login and serves one token: it is spent
			// here, before the token is recorded, so that a browser cannot
			// bring a second token (its own, or one an attacker sends it
			// to) with the same cookie, and a copied cookie is worth
			// nothing once used.
			id, exp, fault := g.binding.login(r, secure, route.origin.SiteOrigin())
			if fault != bindingOK {
				g.refuseBinding(r, route, fault)
				return true, g.redirectToDashboard(w, r, route, protocol.CodeAuthCallbackFailed)
			}
			g.binding.clear(w, secure)
			if !g.bindings.SpendBinding(id, exp) {
				g.refuse(r, "login binding already used", zap.String("route", route.name))
				return true, g.redirectToDashboard(w, r, route, protocol.CodeAuthCallbackFailed)
			}
		}
		// The site will redeem the token naming its listen address; the
		// relay redeems it with the callback it really came to. A token
		// seen before is a replay: answered as the stock site answers a
		// spent token, without troubling the service.
		if !g.callbacks.Remember(q.ExchangeToken, route.origin.SiteOrigin()+r.URL.Path) {
			g.refuse(r, "exchange token replayed", zap.String("route", route.name))
			return true, g.redirectToDashboard(w, r, route, protocol.CodeSessionError)
		}
	}
	if route.documented {
		// The documented callback lives under the dashboard's path; the
		// site serves it at its own API path.
		r.URL.Path = route.origin.RootPath() + "/api/outstatic/" + route.name
		r.URL.RawPath = ""
	}
	return false, nil
}

// refuseBinding logs a callback refused for its binding cookie, with why.
// A binding signed by someone else is most often a deployment error, not
// an attack: the login started on one Caddy instance and came back to
// another that has another binding_secret (or none, so a random one).
// That is logged at warn with the fix; the browser gets the protocol's
// code all the same.
func (g *Guard) refuseBinding(r *http.Request, route authRoute, fault bindingFault) {
	switch fault {
	case bindingForeign:
		g.refuseAt(zap.WarnLevel, r, "login binding signed by another instance",
			zap.String("route", route.name),
			zap.String("why", "the login binding was made by another Caddy instance or with another binding_secret "+
				"(or for another public site than "+route.origin.SiteOrigin()+")"),
			zap.String("fix", "several instances that serve one site must share binding_secret (and token_store)"))
	case bindingExpired:
		g.refuse(r, "login binding expired", zap.String("route", route.name),
			zap.String("why", "the login took longer than binding_ttl"))
	default:
		g.refuse(r, "exchange token reached a browser that did not start the login", zap.String("route", route.name))
	}
}

// startedBySite tells whether r, a request that starts a login, was sent
// by the site's own page, and if not, why ("" when it was). A binding
// minted for any other request would let a hostile page log its visitors
// in as the attacker: it opens the site's login in a navigation or a popup
// (the browser gets the binding), then sends the same browser to the
// callback with the attacker's own exchange_token.
//
// The stock sign-in page starts every login with a same-origin fetch
// (GET login; POST google-login and magic-link with a JSON body), and
// without JavaScript its google-login link is a same-origin navigation
// the user clicked. Browsers that send Fetch Metadata say all of this; a
// page can forge none of it, nor make it say same-origin from another
// origin, a redirect included. A navigation must also come from a click
// (Sec-Fetch-User), because the stock dashboard has a page that navigates
// on its own to any URL of the site (/outstatic/redirect?redirectTo=, after
// three seconds): a hostile page could otherwise have the site's own page
// open the login for it. For the same reason a start whose Referer is that
// page is refused: the page of any dashboard on the site, shown for every
// path below it as well.
//
// Where Fetch Metadata is absent (older browsers, and plain-http origins
// other than localhost), Origin, or else Referer, must name the public
// site; a hostile page can suppress Referer but not forge it, and a
// request with neither is refused. A POST must be JSON, which no form can
// send, so that a cross-site POST is always preflighted.
func startedBySite(r *http.Request, route authRoute) string {
	o := route.origin
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return "not a JSON body"
		}
	}
	referers := r.Header.Values("Referer")
	for _, ref := range referers {
		if route.set.fromRedirectPage(ref, o) {
			return "referer is the dashboard's redirect page"
		}
	}
	if sites := r.Header.Values("Sec-Fetch-Site"); len(sites) > 0 {
		if len(sites) != 1 || sites[0] != "same-origin" {
			return "sec-fetch-site is not same-origin"
		}
		switch r.Header.Get("Sec-Fetch-Mode") {
		case "cors", "same-origin":
			// a fetch by the site's own script
			return ""
		case "navigate":
			if route.name == protocol.RouteGoogleLogin && r.Method == http.MethodGet &&
				r.Header.Get("Sec-Fetch-User") == "?1" && r.Header.Get("Sec-Fetch-Dest") == "document" {
				return ""
			}
			return "a navigation that is not a click on the google-login link"
		}
		return "sec-fetch-mode is not a fetch"
	}
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) != 1 || !sameOrigin(origins[0], o) {
			return "origin is not the site"
		}
		return ""
	}
	if len(referers) != 1 || !sameSiteURL(referers[0], o) {
		return "no origin or referer on the site"
	}
	return ""
}

// fromRedirectPage reports whether the URL u is the stock dashboard's
// redirect page of a callback origin of the set on o's site, in any
// spelling of its path and in either reading of it (foldedViews). The
// dashboard routes on the first segment below its path, so every path
// below the page is the page too.
func (t *originSet) fromRedirectPage(u string, o *validate.Origin) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	views := foldedViews(p)
	for i := range t.origins {
		d := &t.origins[i]
		if d.SiteOrigin() != o.SiteOrigin() {
			continue
		}
		page := strings.ToLower(d.Path) + "/redirect"
		for _, folded := range views {
			if folded == page || strings.HasPrefix(folded, page+"/") {
				return true
			}
		}
	}
	return false
}

// sameSiteURL reports whether the absolute URL u is on o's site.
func sameSiteURL(u string, o *validate.Origin) bool {
	p, err := url.Parse(u)
	if err != nil || p.User != nil || p.Host == "" || p.Opaque != "" {
		return false
	}
	return o.MatchesSite(strings.ToLower(p.Scheme), p.Host)
}

// refuseStart answers a login start that did not come from the site's own
// page, as the sign-in page shows a failed start: login and a google-login
// POST are fetches that read {error}; a google-login GET is a navigation,
// sent to the dashboard's error page; the magic-link form shows nothing
// for an error but invalid-api-key, so it gets the stock site's code for a
// cross-origin request.
func (g *Guard) refuseStart(w http.ResponseWriter, r *http.Request, route authRoute) error {
	switch {
	case route.name == protocol.RouteLogin:
		return protocol.WriteError(w, http.StatusForbidden, protocol.CodeGitHubRelayFailed)
	case route.name == protocol.RouteGoogleLogin && r.Method == http.MethodGet:
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, withError(route.origin.String(), protocol.CodeGoogleRelayFailed), http.StatusFound)
		return nil
	case route.name == protocol.RouteGoogleLogin:
		return protocol.WriteError(w, http.StatusForbidden, protocol.CodeGoogleRelayFailed)
	}
	return protocol.WriteError(w, http.StatusForbidden, protocol.CodeInvalidOrigin)
}

// refuseProRoute answers a Pro-only route when the key is not verified Pro,
// with what the dashboard shows for each.
func (g *Guard) refuseProRoute(w http.ResponseWriter, r *http.Request, route authRoute, v verdict.Verdict) error {
	switch {
	case route.name == protocol.RouteGoogleLogin && r.Method == http.MethodGet:
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, withError(route.origin.String(), protocol.CodeGoogleRelayFailed), http.StatusFound)
		return nil
	case route.name == protocol.RouteGoogleLogin:
		return protocol.WriteError(w, http.StatusForbidden, protocol.CodeGoogleRelayFailed)
	case route.name == protocol.RouteMagicLink && v.State == verdict.Invalid:
		return protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeInvalidAPIKey)
	case route.name == protocol.RouteMagicLink:
		return protocol.WriteError(w, http.StatusForbidden, protocol.CodeSiteEmailNotConfigured)
	}
	return protocol.WriteError(w, http.StatusForbidden, protocol.CodeProRequired)
}

// checkReturnQuery checks google-login's query: the stock site passes a
// returnUrl parameter on to the service unchecked and bases its error
// redirect on it, an open redirect. Only _rsc (Next's prefetch marker) and
// a returnUrl on the site of a callback origin may be there.
func (g *Guard) checkReturnQuery(r *http.Request, route authRoute) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	for name, vals := range q {
		switch {
		case len(vals) != 1:
			return fmt.Errorf("parameter %q repeated", name)
		case name == "_rsc":
		case name == "returnUrl":
			if _, err := route.set.targets().CheckReturnURL(vals[0]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected parameter %q", name)
		}
	}
	return nil
}

// sameOrigin reports whether the Origin header names o's site exactly
// (scheme and host case-insensitively, default port as no port).
func sameOrigin(header string, o *validate.Origin) bool {
	scheme, hostport, ok := strings.Cut(header, "://")
	if !ok || strings.ContainsAny(hostport, "/?#@\\") {
		return false
	}
	return o.MatchesSite(strings.ToLower(scheme), hostport)
}

// redirectToDashboard sends the browser to the dashboard's error page, as
// the stock site does for a failed callback. The code is always one of the
// guard's constants, never text from the request.
func (g *Guard) redirectToDashboard(w http.ResponseWriter, r *http.Request, route authRoute, code string) error {
	target := route.origin.String() + "?error=" + url.QueryEscape(code)
	w.Header().Set("Cache-Control", "no-store")
	// 307, as the stock site's own error redirects
	http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	return nil
}
