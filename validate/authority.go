package validate

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// siteParts is what the strict parse finds before the path of a URL.
type siteParts struct {
	scheme string // "http" or "https"
	host   string // canonical host, see parseHost
	port   string // canonical port, "" for the scheme's default
	rest   string // everything from the end of the authority on, raw
}

// splitURL parses the scheme and authority of raw, strictly, and returns the
// rest undecoded. Its error is a reason without the input in it; callers add
// their own context.
//
// The authority ends at the first '/', '?', '#' or '\': that is where a WHATWG
// parser (every browser) ends it for http and https, so the host checked here
// is the host the browser would go to. A backslash itself is never accepted
// by callers, but stopping at it keeps "https://evil.com\@good.com" from
// being read as userinfo for good.com.
func splitURL(raw string) (siteParts, error) {
	if raw == "" {
		return siteParts{}, errors.New("is empty")
	}
	end := 0
	for end < len(raw) && isSchemeByte(raw[end]) {
		end++
	}
	if end == len(raw) || raw[end] != ':' {
		if msg := badChar(raw, end); msg != "" {
			return siteParts{}, errors.New(msg)
		}
		return siteParts{}, errors.New(`must be an absolute URL starting with "http://" or "https://"`)
	}
	scheme := strings.ToLower(raw[:end])
	if scheme != "http" && scheme != "https" {
		return siteParts{}, fmt.Errorf("scheme %s is not allowed (want http or https)", quote(raw[:end]))
	}
	after := raw[end+1:]
	if !strings.HasPrefix(after, "//") {
		if strings.HasPrefix(after, `\`) || strings.HasPrefix(after, `/\`) {
			return siteParts{}, errors.New(`must have "//" after the scheme, not a backslash`)
		}
		return siteParts{}, errors.New(`must have "//" after the scheme`)
	}
	after = after[2:]
	cut := strings.IndexAny(after, `/?#\`)
	if cut < 0 {
		cut = len(after)
	}
	host, port, err := parseAuthority(scheme, after[:cut])
	if err != nil {
		return siteParts{}, err
	}
	return siteParts{scheme: scheme, host: host, port: port, rest: after[cut:]}, nil
}

// ParseHostPort parses hostport, a Host header value or the authority of a
// URL with the given scheme ("http" or "https", any case), under the same
// rules as callback origins. It returns the canonical host (lowercase, IPv6
// in brackets) and port ("" when absent or the scheme's default).
func ParseHostPort(scheme, hostport string) (host, port string, err error) {
	s := strings.ToLower(scheme)
	if s != "http" && s != "https" {
		return "", "", fmt.Errorf("scheme %s is not allowed (want http or https)", quote(scheme))
	}
	if i := strings.IndexAny(hostport, `/?#\`); i >= 0 {
		return "", "", fmt.Errorf("host %s must not contain %q", quote(hostport), hostport[i])
	}
	host, port, err = parseAuthority(s, hostport)
	if err != nil {
		return "", "", fmt.Errorf("host %s: %v", quote(hostport), err)
	}
	return host, port, nil
}

// parseAuthority checks host[:port] and returns both in canonical form.
func parseAuthority(scheme, a string) (host, port string, err error) {
	if a == "" {
		return "", "", errors.New("has an empty host")
	}
	if msg := badChar(a, 0); msg != "" {
		return "", "", errors.New(msg)
	}
	if strings.Contains(a, "@") {
		// Userinfo is how "https://good.com@evil.com" fools people: refuse it
		// outright rather than strip it.
		return "", "", errors.New(`must not contain userinfo ("@" before the path)`)
	}
	if strings.Contains(a, "%") {
		return "", "", errors.New("must not contain percent-encoding in the host")
	}
	rawHost, rawPort, hasPort := a, "", false
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", errors.New(`has an IPv6 literal without its closing "]"`)
		}
		rawHost = a[:end+1]
		if tail := a[end+1:]; tail != "" {
			if tail[0] != ':' {
				return "", "", fmt.Errorf("has %s after the IPv6 literal, want a port after \":\"", quote(tail))
			}
			rawPort, hasPort = tail[1:], true
		}
	} else if i := strings.IndexByte(a, ':'); i >= 0 {
		rawHost, rawPort, hasPort = a[:i], a[i+1:], true
	}
	if host, err = parseHost(rawHost); err != nil {
		return "", "", err
	}
	if hasPort {
		if port, err = parsePort(scheme, rawPort); err != nil {
			return "", "", err
		}
	}
	return host, port, nil
}

// parsePort checks a port written after ":" and returns it canonical: ""
// for the scheme's default port, so that default and no port compare equal.
// Leading zeros and signs are refused rather than normalized: "0443" is 443 to
// one parser and an error to the next.
func parsePort(scheme, p string) (string, error) {
	if p == "" {
		return "", errors.New(`has an empty port after ":"`)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return "", fmt.Errorf("port %s must be decimal digits only", quote(p))
		}
	}
	if p[0] == '0' {
		if p == "0" {
			return "", errors.New("port 0 is not allowed (want 1 to 65535)")
		}
		return "", fmt.Errorf("port %s must not have a leading zero", quote(p))
	}
	if len(p) > 5 || len(p) == 5 && p > "65535" {
		return "", fmt.Errorf("port %s is out of range (want 1 to 65535)", quote(p))
	}
	if scheme == "http" && p == "80" || scheme == "https" && p == "443" {
		return "", nil
	}
	return p, nil
}

// parseHost checks a host and returns it lowercase. It accepts a DNS name, a
// dotted-quad IPv4 address or a bracketed IPv6 address, each only in the one
// spelling a WHATWG parser leaves as it is, so that what is compared is what
// the browser resolves.
func parseHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("has an empty host")
	}
	if h[0] == '[' {
		return parseIPv6(h)
	}
	h = strings.ToLower(h)
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", fmt.Errorf("host %s contains %q, which is not allowed in a host name", quote(h), c)
		}
	}
	if strings.HasSuffix(h, ".") {
		// A trailing dot names the same DNS zone but another origin to a
		// browser, and "a.b.c.1." is an IPv4 address to WHATWG.
		return "", fmt.Errorf("host %s must not end with a dot", quote(h))
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %s is longer than 253 characters", quote(h))
	}
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; isNumericLabel(last) {
		// WHATWG reads a host ending in a number as an IPv4 address, in
		// decimal, octal or hex, with 1 to 4 parts ("0x7f.1", "2130706433"):
		// only the canonical dotted quad means the same thing everywhere.
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is4() || a.String() != h {
			return "", fmt.Errorf("host %s ends in a number but is not a canonical dotted-quad IPv4 address", quote(h))
		}
		return h, nil
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "", fmt.Errorf("host %s has an empty label", quote(h))
		case len(l) > 63:
			return "", fmt.Errorf("host %s has a label longer than 63 characters", quote(h))
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", fmt.Errorf("host %s has a label starting or ending with a hyphen", quote(h))
		case strings.HasPrefix(l, "xn--"):
			// A punycode label is checked and remapped by browsers under
			// IDNA tables the standard library lacks; one they read
			// differently from us must not pass, so none does.
			return "", fmt.Errorf("host %s has an internationalized (xn--) label, which is not supported", quote(h))
		}
	}
	return h, nil
}

// isNumericLabel reports whether WHATWG could read the last label of a host
// as a number: all digits, or starting with "0x" (hex). It errs on the side of
// "yes" ("0xg" is not a number to WHATWG), which only refuses more.
func isNumericLabel(l string) bool {
	if strings.HasPrefix(l, "0x") {
		return true
	}
	if l == "" {
		return false
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPv6 checks a bracketed IPv6 literal: it must be the canonical
// RFC 5952 form netip prints (up to letter case), with no zone and no
// embedded IPv4, which WHATWG would print in hex instead.
func parseIPv6(h string) (string, error) {
	if len(h) < 2 || h[len(h)-1] != ']' {
		return "", fmt.Errorf("IPv6 literal %s is not closed by \"]\"", quote(h))
	}
	inner := strings.ToLower(h[1 : len(h)-1])
	if strings.Contains(inner, ".") {
		return "", fmt.Errorf("IPv6 literal %s must not embed a dotted IPv4 address", quote(h))
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", fmt.Errorf("IPv6 literal %s is not a valid IPv6 address", quote(h))
	}
	if canon := a.String(); canon != inner {
		return "", fmt.Errorf("IPv6 literal %s is not in canonical form (want %s)", quote(h), quote("["+canon+"]"))
	}
	return "[" + inner + "]", nil
}

// isSchemeByte reports whether c may appear in a URL scheme (RFC 3986).
func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// badChar describes the first character of s at or after byte from that no
// part of an accepted URL may hold: whitespace, a control character, or
// anything outside ASCII. WHATWG parsers silently drop or remap some of these
// (tab, newline, U+3002 as a dot), so the string checked would not be the one
// used. It returns "" when there is none.
func badChar(s string, from int) string {
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c >= '\t' && c <= '\r':
			return fmt.Sprintf("must not contain whitespace (U+%04X at byte %d)", c, i)
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("must not contain control characters (U+%04X at byte %d)", c, i)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				return fmt.Sprintf("must not contain invalid UTF-8 (byte 0x%02x at byte %d)", c, i)
			case unicode.IsSpace(r):
				return fmt.Sprintf("must not contain whitespace (U+%04X at byte %d)", r, i)
			case unicode.IsControl(r):
				return fmt.Sprintf("must not contain control characters (U+%04X at byte %d)", r, i)
			}
			return fmt.Sprintf("must not contain non-ASCII characters (U+%04X %q at byte %d)", r, r, i)
		}
	}
	return ""
}
