package validate

import (
	"fmt"
	"strings"
)

// Target is an accepted callback target.
type Target struct {
	URL       string // the canonical URL to redirect to: lowercase scheme and host, default port removed, path exactly as allowed
	Origin    Origin // the origin it matched
	Route     string // RouteCallback or RouteMagicLinkCallback
	StockForm bool   // true when it used the <site root>/api/outstatic/... form
}

// Targets checks callback targets against a project's callback origins.
type Targets struct {
	// Origins are the project's callback origins, from ParseOrigin.
	Origins []Origin
	// Strict refuses the stock-client form <site root>/api/outstatic/...,
	// leaving only the documented <origin>/api/outstatic/... form.
	Strict bool
}

// Check accepts raw only if, after one strict parse, it is exactly one of the
// callback URLs of a configured origin, and returns its canonical form: the
// URL to redirect to. Otherwise the error is an *Error whose Code is
// CodeInvalidCallbackDomain (malformed before the path, or scheme, host and
// port match no origin), CodeInvalidCallbackTarget (they match, the rest does
// not) or, with no origins at all, CodeProjectURLNotConfigured.
func (t Targets) Check(raw string) (Target, error) {
	if len(t.Origins) == 0 {
		return Target{}, &Error{Code: CodeProjectURLNotConfigured, Reason: "the project has no callback origins"}
	}
	p, err := splitURL(raw)
	if err != nil {
		return Target{}, &Error{Code: CodeInvalidCallbackDomain, Reason: fmt.Sprintf("callback target %s: %v", quote(raw), err)}
	}
	var site []Origin
	for _, o := range t.Origins {
		if o.Scheme == p.scheme && o.Host == p.host && o.Port == p.port {
			site = append(site, o)
		}
	}
	if len(site) == 0 {
		hp := p.host
		if p.port != "" {
			hp += ":" + p.port
		}
		return Target{}, &Error{Code: CodeInvalidCallbackDomain, Reason: fmt.Sprintf(
			"callback target %s: %s matches no callback origin", quote(raw), quote(p.scheme+"://"+hp))}
	}
	// The documented form is tried first: with origins /outstatic and
	// /outstatic/outstatic on one site, the same URL is the documented form
	// of the first and the stock form of the second, and the documented
	// reading is the one to report.
	forms := []bool{false}
	if !t.Strict {
		forms = append(forms, true)
	}
	for _, stock := range forms {
		for _, o := range site {
			for _, route := range routes {
				// Byte-for-byte comparison of the raw rest: nothing is
				// decoded or normalized, so no spelling other than the
				// canonical one can pass.
				if p.rest == o.callbackPath(route, stock) {
					return Target{URL: o.SiteOrigin() + p.rest, Origin: o, Route: route, StockForm: stock}, nil
				}
			}
		}
	}
	return Target{}, &Error{Code: CodeInvalidCallbackTarget, Reason: fmt.Sprintf(
		"callback target %s: %s", quote(raw), t.explainRest(p.rest, site))}
}

// explainRest says why rest, the part of a target after a matching site, is
// not an allowed callback route. It only informs the log line: Check has
// already refused.
func (t Targets) explainRest(rest string, site []Origin) string {
	switch {
	case strings.Contains(rest, `\`):
		return "must not contain a backslash"
	case badChar(rest, 0) != "":
		return badChar(rest, 0)
	case strings.Contains(rest, "?"):
		return `must not have a query string (not even an empty "?")`
	case strings.Contains(rest, "#"):
		return `must not have a fragment (not even an empty "#")`
	case strings.Contains(rest, "%"):
		return "must not contain percent-encoding in the path"
	case hasDotSegment(rest):
		return `must not have "." or ".." path segments`
	case strings.Contains(rest, "//"):
		return `must not have empty path segments ("//")`
	}
	for _, o := range site {
		for _, route := range routes {
			if t.Strict && rest == o.callbackPath(route, true) {
				return fmt.Sprintf("path %s is the stock-client form, refused in strict mode", quote(rest))
			}
		}
	}
	allowed := t.allowedPaths(site)
	return fmt.Sprintf("path %s is not a callback route (want one of %s)", quote(rest), strings.Join(allowed, ", "))
}

// allowedPaths lists the paths Check accepts on a site, for messages.
func (t Targets) allowedPaths(site []Origin) []string {
	var out []string
	for _, o := range site {
		for _, route := range routes {
			out = append(out, o.callbackPath(route, false))
			if !t.Strict {
				out = append(out, o.callbackPath(route, true))
			}
		}
	}
	return out
}

// hasDotSegment reports whether a path has a "." or ".." segment, which
// parsers resolve away before the request is made.
func hasDotSegment(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// AllowedURLs returns every canonical callback target t accepts, documented
// forms first. Duplicates (one URL that two origins both allow) appear once.
func (t Targets) AllowedURLs() []string {
	seen := map[string]bool{}
	var out []string
	forms := []bool{false}
	if !t.Strict {
		forms = append(forms, true)
	}
	for _, stock := range forms {
		for _, o := range t.Origins {
			for _, route := range routes {
				u := o.CallbackURL(route, stock)
				if !seen[u] {
					seen[u] = true
					out = append(out, u)
				}
			}
		}
	}
	return out
}
