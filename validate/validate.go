// Package validate holds the checks the plugin makes on hostile input: callback
// origins from the configuration, callback targets sent to the relay, and Host
// headers. They are pure functions over strings, with no Caddy import, so they
// can be table-tested and fuzzed on their own.
//
// Every URL goes through one strict parser of our own rather than net/url:
// net/url accepts what browsers read differently (backslashes, odd ports,
// numeric hosts, percent-encoded hosts), and a check is only worth something
// if the URL the browser is sent to is the one that was checked.
package validate

import (
	"strconv"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// Error codes, exactly as the stock Outstatic site expects them in
// {"error": code} replies: protocol's, named here for validate's callers.
const (
	// CodeInvalidCallbackDomain: the target's scheme, host or port matches no
	// callback origin, or the URL is malformed before its path.
	CodeInvalidCallbackDomain = protocol.CodeInvalidCallbackDomain
	// CodeInvalidCallbackTarget: scheme, host and port match a callback
	// origin, but the rest of the URL is not an allowed callback route.
	CodeInvalidCallbackTarget = protocol.CodeInvalidCallbackTarget
	// CodeProjectURLNotConfigured: the project has no callback origins.
	CodeProjectURLNotConfigured = protocol.CodeProjectURLNotConfigured
)

// Route names: the last path segment of the two routes a login may end on.
const (
	// RouteCallback ends GitHub and Google logins.
	RouteCallback = protocol.RouteCallback
	// RouteMagicLinkCallback ends e-mail (magic link) logins.
	RouteMagicLinkCallback = protocol.RouteMagicLinkCallback
)

// routes lists every route a callback target may point to, in the order
// refusal messages name them.
var routes = [...]string{RouteCallback, RouteMagicLinkCallback}

// apiPrefix is where the stock site mounts its API, below a base path.
const apiPrefix = "/api/outstatic/"

// Error is a refusal: Code is the protocol error code sent to the site,
// Reason a human explanation for logs and the command line. Reason quotes the
// input with Go escaping, so it is safe to log.
type Error struct {
	Code   string // CodeInvalidCallbackDomain, CodeInvalidCallbackTarget or CodeProjectURLNotConfigured
	Reason string // why, for logs and the command line; protocol replies carry only Code
}

// Error returns the code followed by the reason.
func (e *Error) Error() string {
	if e.Reason == "" {
		return e.Code
	}
	return e.Code + ": " + e.Reason
}

// maxQuoted bounds how much of an input a message repeats: inputs are
// attacker-chosen and end up in logs.
const maxQuoted = 200

// quote returns s Go-quoted (so control characters show as escapes), cut
// short when long.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}
