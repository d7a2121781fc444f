package validate

import (
	"fmt"
	"strings"
)

// CheckReturnURL checks a returnUrl, where the browser lands after a Google
// or e-mail login. The stock site passes it on unchecked, which makes its
// login an open redirect; here it must be an absolute URL on the site of a
// callback origin, under the site root, with a plain path and an optional
// query, and no fragment. It returns the canonical URL.
func (t Targets) CheckReturnURL(raw string) (string, error) {
	if len(t.Origins) == 0 {
		return "", &Error{Code: CodeProjectURLNotConfigured, Reason: "no callback origins are configured"}
	}
	if len(raw) > 2048 {
		return "", &Error{Code: CodeInvalidCallbackTarget, Reason: "return URL is too long"}
	}
	parts, err := splitURL(raw)
	if err != nil {
		return "", &Error{Code: CodeInvalidCallbackDomain, Reason: fmt.Sprintf("return URL %s %v", quote(raw), err)}
	}
	var site []Origin
	for _, o := range t.Origins {
		if o.Scheme == parts.scheme && o.Host == parts.host && o.Port == parts.port {
			site = append(site, o)
		}
	}
	if len(site) == 0 {
		return "", &Error{Code: CodeInvalidCallbackDomain, Reason: fmt.Sprintf("return URL %s is not on a callback origin's site", quote(raw))}
	}
	path, query, hasQuery := strings.Cut(parts.rest, "?")
	if path == "" {
		path = "/"
	}
	refuse := func(why string) (string, error) {
		return "", &Error{Code: CodeInvalidCallbackTarget, Reason: fmt.Sprintf("return URL %s %s", quote(raw), why)}
	}
	if path[0] != '/' || strings.Contains(path, "//") || hasDotSegment(path) {
		return refuse("has a path that is not plain")
	}
	for i := 0; i < len(path); i++ {
		if !isPathByte(path[i]) {
			return refuse("has a character its path may not have")
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; !isPathByte(c) && c != '?' && c != '%' {
			return refuse("has a character its query may not have")
		}
	}
	under := false
	for _, o := range site {
		root := o.RootPath()
		under = under || root == "" || path == root || strings.HasPrefix(path, root+"/")
	}
	if !under {
		return refuse("is outside the site root")
	}
	canonical := parts.scheme + "://" + site[0].HostPort() + path
	if hasQuery {
		canonical += "?" + query
	}
	return canonical, nil
}
