package guard

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// publicSite returns the scheme and host[:port] the browser used. The
// X-Forwarded-Proto and X-Forwarded-Host headers count only when the request
// came through one of the server's trusted_proxies (trusted), as Caddy
// itself decides; from anyone else they are ignored, which is what stops
// Host-header poisoning through a forwarded header.
func publicSite(r *http.Request, trusted bool) (scheme, hostport string) {
	scheme = "http"
	if r.TLS != nil {
		scheme = "https"
	}
	hostport = r.Host
	if trusted {
		if v := firstForwarded(r.Header.Get("X-Forwarded-Proto")); v != "" {
			scheme = strings.ToLower(v)
		}
		if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" {
			hostport = v
		}
	}
	return scheme, hostport
}

// firstForwarded takes the value the first (client-most) proxy wrote.
func firstForwarded(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// authRoute is a request to one of the site's Outstatic API routes.
type authRoute struct {
	// name is the route's first segment: "login", "callback", "user", ...
	name string
	// sub is true when the path goes on past the name (media/..., github/...).
	sub bool
	// documented is true for the /outstatic/api/outstatic/... form.
	documented bool
	// origin is the callback origin the request's path and public site match;
	// nil when the site matches none.
	origin *validate.Origin
	// canonical is false when the path only reaches an auth route after
	// cleaning or case folding (//, dot segments, %-escapes, other case).
	canonical bool
	// set is the callback origins the route was classified against: its
	// return URLs are checked against them.
	set *originSet
}

// classify tells whether r is an auth route of one of the set's callback
// origins, and which origin it is for, given the public scheme and
// host[:port] the browser used.
// A path that reaches an auth route only after cleaning, decoding or case
// folding is still classified as one, with canonical false, so that it can
// be refused instead of slipping past the checks to an app that normalizes.
func (t *originSet) classify(r *http.Request, scheme, hostport string) (authRoute, bool) {
	// Every auth route has "/outstatic/" in its decoded path, in some case:
	// most requests leave here without cleaning or allocating anything.
	if !containsFold(r.URL.Path, "outstatic") {
		return authRoute{}, false
	}
	raw := r.URL.EscapedPath()
	views := foldedViews(r.URL)
	var found authRoute
	ok := false
	for i := range t.origins {
		o := &t.origins[i]
		for _, documented := range []bool{true, false} {
			prefix := o.RootPath() + "/api/outstatic/"
			if documented {
				prefix = o.Path + "/api/outstatic/"
			}
			lower := strings.ToLower(prefix)
			folded := views[0]
			if !strings.HasPrefix(folded, lower) {
				if folded = views[1]; !strings.HasPrefix(folded, lower) {
					continue
				}
			}
			rest := folded[len(prefix):]
			name, _, _ := strings.Cut(rest, "/")
			exact := prefix + name
			canonical := strings.HasPrefix(raw, exact) &&
				(len(raw) == len(exact) || raw[len(exact)] == '/') &&
				cleanPath(r.URL.Path)
			route := authRoute{name: name, sub: rest != name, documented: documented, canonical: canonical, set: t}
			if o.MatchesSite(scheme, hostport) {
				route.origin = o
				return route, true
			}
			if !ok {
				found, ok = route, true
			}
		}
	}
	return found, ok
}

// foldedViews returns u's path, lowercased, as the two readings a server
// may make of it: decoded and then cleaned (trailing slash kept), and as
// the app reads it (splitPath). A path is an auth route if either reading
// makes it one: the app splits before it decodes, so ".." encoded together
// with "/" ("..%2F..") cancels the route in the first reading but not in
// the app's.
func foldedViews(u *url.URL) [2]string {
	folded := strings.ToLower(path.Clean("/" + u.Path))
	if strings.HasSuffix(u.Path, "/") && folded != "/" {
		folded += "/"
	}
	return [2]string{folded, strings.ToLower(splitPath(u.EscapedPath()))}
}

// splitPath is the escaped path p as a WHATWG URL parser (Node's, hence
// Next's router) resolves it and the router then reads it: split at each
// "/" first, dot segments removed ("." and "..", also percent-encoded),
// each segment then decoded. A "/" decoded inside a segment stays "%2f",
// so that it never separates segments.
func splitPath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		switch dec {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, strings.ReplaceAll(dec, "/", "%2f"))
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// cleanPath reports whether p has no empty, "." or ".." segments.
func cleanPath(p string) bool {
	trimmed := strings.TrimSuffix(p, "/")
	return !strings.Contains(trimmed, "//") && path.Clean(trimmed) == trimmed
}

// containsFold reports whether s contains the lowercase ASCII word, in any
// case, without allocating.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		j := 0
		for ; j < len(word); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != word[j] {
				break
			}
		}
		if j == len(word) {
			return true
		}
	}
	return false
}
