package relay

import (
	"fmt"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// The app's own addresses, which both modes replace with the public
// origin in the callbacks the stock site sends.

// CheckAppHosts lowercases the app hosts and refuses any that is not a
// plain host[:port]; none is protocol.DefaultAppHosts.
func CheckAppHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		hosts = protocol.DefaultAppHosts
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(h)
		if _, _, err := validate.ParseHostPort("http", h); err != nil {
			return nil, fmt.Errorf("app host: %v", err)
		}
		out = append(out, h)
	}
	return out, nil
}

// PublicURL replaces the app's own origin in raw (http or https, one of
// appHosts) with the site of targets' primary callback origin, keeping the
// rest byte for byte. The stock site builds its callbacks from its listen
// address (PROTOCOL.md §6); only the edge knows the public one. Anything
// else is returned as it is, for the check to judge.
func PublicURL(raw string, targets validate.Targets, appHosts []string) string {
	if len(targets.Origins) == 0 {
		return raw
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return raw
	}
	// The authority ends where a browser ends it, so a trailing part such
	// as "@evil.com" or "\@evil.com" is never read as the app's host.
	end := strings.IndexAny(rest, `/?#\`)
	if end < 0 {
		end = len(rest)
	}
	host, port, err := validate.ParseHostPort(scheme, rest[:end])
	if err != nil {
		return raw
	}
	// A configured origin on the app's own address (a development origin
	// such as http://localhost:3000/outstatic) is a real callback there.
	for _, o := range targets.Origins {
		if o.MatchesSite(scheme, rest[:end]) {
			return raw
		}
	}
	for _, app := range appHosts {
		// Parsed under the URL's scheme, so "localhost:80" matches
		// "http://localhost" and default ports compare as no port.
		ah, ap, err := validate.ParseHostPort(scheme, app)
		if err == nil && ah == host && ap == port {
			return targets.Origins[0].SiteOrigin() + rest[end:]
		}
	}
	return raw
}
