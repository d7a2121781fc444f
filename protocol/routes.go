package protocol

import (
	"net/http"
	"slices"
)

// The site's routes under /api/outstatic/ (PROTOCOL.md §3) that the guard
// treats specially.
const (
	RouteLogin             = "login"
	RouteGoogleLogin       = "google-login"
	RouteMagicLink         = "magic-link"
	RouteCallback          = "callback"
	RouteMagicLinkCallback = "magic-link-callback"
	RouteSignout           = "signout"
	RouteGenerate          = "generate"
	RouteScan              = "scan"
)

// SiteRoute is what the guard knows of a route of the site.
type SiteRoute struct {
	// Pro: the route needs Outstatic Pro (refused at the edge otherwise).
	Pro bool
	// Start: the route starts a relay login by calling Endpoint, which
	// the guard can do itself with the public callback.
	Start *Endpoint
	// StartMethods are the methods with which a request to the route
	// starts a login (what the stock site answers with a login URL).
	StartMethods []string
	// StartFailed is the code the sign-in page shows for a failed start.
	StartFailed string
}

// SiteRoutes are the site's routes the guard treats specially, by name.
var SiteRoutes = map[string]SiteRoute{
	RouteLogin: {Start: GitHubExchange, StartFailed: CodeGitHubRelayFailed,
		StartMethods: []string{http.MethodGet, http.MethodHead}},
	RouteGoogleLogin: {Pro: true, Start: GoogleExchange, StartFailed: CodeGoogleRelayFailed,
		StartMethods: []string{http.MethodGet, http.MethodPost}},
	RouteMagicLink: {Pro: true, Start: RequestMagicLink,
		StartMethods: []string{http.MethodPost}},
	RouteGenerate: {Pro: true},
	RouteScan:     {Pro: true},
}

// StartRoutes are the routes that start a relay login, in a fixed order.
var StartRoutes = []string{RouteLogin, RouteGoogleLogin, RouteMagicLink}

// IsStartRoute reports whether route starts a relay login.
func IsStartRoute(route string) bool { return SiteRoutes[route].Start != nil }

// StartsLogin reports whether a request to route with method starts a
// relay login.
func StartsLogin(route, method string) bool {
	return slices.Contains(SiteRoutes[route].StartMethods, method)
}

// IsProRoute reports whether route needs Outstatic Pro.
func IsProRoute(route string) bool { return SiteRoutes[route].Pro }
