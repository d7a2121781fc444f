package relay

import "strings"

// BearerToken returns the credentials of a Bearer authorization (the
// scheme is case-insensitive, RFC 9110 §11.1).
func BearerToken(v string) (string, bool) {
	const prefix = "bearer "
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	return v[len(prefix):], true
}
