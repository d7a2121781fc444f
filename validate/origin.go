package validate

import (
	"errors"
	"fmt"
	"strings"
)

// dashboardSegment is the last path segment of every callback origin: the
// stock dashboard is mounted at <base path>/outstatic.
const dashboardSegment = "/outstatic"

// Origin is a parsed, canonical callback origin: the base URL of one
// self-hosted install, such as https://blog.example.com/outstatic.
type Origin struct {
	Scheme string // "http" or "https", lowercase
	Host   string // lowercase ASCII hostname or IP literal (IPv6 in brackets), no port
	Port   string // explicit non-default port, "" when absent or default (80 for http, 443 for https)
	Path   string // ends with "/outstatic", e.g. "/outstatic" or "/blog/outstatic"
}

// ParseOrigin parses a callback origin from the configuration. It refuses
// anything that is not a plain http or https URL whose path ends with
// "/outstatic"; each error names the rule broken and quotes the input.
func ParseOrigin(raw string) (Origin, error) {
	fail := func(err error) (Origin, error) {
		return Origin{}, fmt.Errorf("callback origin %s: %v", quote(raw), err)
	}
	p, err := splitURL(raw)
	if err != nil {
		return fail(err)
	}
	if err := checkOriginPath(p.rest); err != nil {
		return fail(err)
	}
	return Origin{Scheme: p.scheme, Host: p.host, Port: p.port, Path: p.rest}, nil
}

// checkOriginPath checks what follows the authority of an origin. The path is
// kept byte for byte, so it may only hold characters that every parser leaves
// alone and that need no decoding: RFC 3986 unreserved and sub-delims, ":",
// "@" and "/".
func checkOriginPath(path string) error {
	if path == "" {
		return fmt.Errorf("must have a path ending with %q", dashboardSegment)
	}
	if i := strings.IndexByte(path, '\\'); i >= 0 {
		return errors.New(`must not contain a backslash`)
	}
	if msg := badChar(path, 0); msg != "" {
		return errors.New(msg)
	}
	if strings.Contains(path, "?") {
		return errors.New(`must not have a query string (not even an empty "?")`)
	}
	if strings.Contains(path, "#") {
		return errors.New(`must not have a fragment (not even an empty "#")`)
	}
	if strings.Contains(path, "%") {
		return errors.New("must not contain percent-encoding in the path")
	}
	for i := 0; i < len(path); i++ {
		if !isPathByte(path[i]) {
			return fmt.Errorf("path must not contain %q", path[i])
		}
	}
	if !strings.HasSuffix(path, dashboardSegment) {
		return fmt.Errorf("path must end with %q", dashboardSegment)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		switch seg {
		case "":
			return errors.New(`path must not have empty segments ("//")`)
		case ".", "..":
			return fmt.Errorf("path must not have %q segments", seg)
		}
	}
	return nil
}

// isPathByte reports whether c is RFC 3986 unreserved, a sub-delim, ":", "@"
// or "/": the path characters a WHATWG parser neither encodes nor reads
// specially.
func isPathByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// String returns the canonical origin: scheme://host[:port]path.
func (o Origin) String() string {
	return o.SiteOrigin() + o.Path
}

// HostPort returns host[:port], without the default port.
func (o Origin) HostPort() string {
	if o.Port == "" {
		return o.Host
	}
	return o.Host + ":" + o.Port
}

// SiteOrigin returns scheme://host[:port], the web origin of the site.
func (o Origin) SiteOrigin() string {
	return o.Scheme + "://" + o.HostPort()
}

// RootPath returns the site's base path: Path without its final
// "/outstatic", "" for a site at the root of its host.
func (o Origin) RootPath() string {
	return strings.TrimSuffix(o.Path, dashboardSegment)
}

// CallbackURL returns the canonical callback target for route
// (RouteCallback or RouteMagicLinkCallback): the documented form
// <origin>/api/outstatic/<route>, or with stockForm the form the stock client
// sends, <site root>/api/outstatic/<route>.
func (o Origin) CallbackURL(route string, stockForm bool) string {
	return o.SiteOrigin() + o.callbackPath(route, stockForm)
}

// callbackPath is CallbackURL without the site origin.
func (o Origin) callbackPath(route string, stockForm bool) string {
	if stockForm {
		return o.RootPath() + apiPrefix + route
	}
	return o.Path + apiPrefix + route
}

// MatchesSite reports whether a request made with scheme and hostport (as a
// browser used them, for instance the request's scheme and Host header) is
// for this origin's site. Scheme and host compare case-insensitively and a
// default port equals no port; anything malformed matches nothing.
func (o Origin) MatchesSite(scheme, hostport string) bool {
	host, port, err := ParseHostPort(scheme, hostport)
	if err != nil {
		return false
	}
	return strings.EqualFold(scheme, o.Scheme) && host == o.Host && port == o.Port
}
