package protocol

import "net/http"

// ClientIPHeader carries, on a keyed call from the guard to the service,
// the address of the browser the call is made for: Caddy's client IP at
// the guard (trusted_proxies considered). A relay believes it only on a
// call whose key it has checked, since only a key holder (the guard, or
// the site) makes those; on any other request it is removed unread. It is
// this project's own header: the stock site never sends it.
const ClientIPHeader = "X-Outstatic-Client-Ip"

// SessionCookie is the stock site's session cookie (PROTOCOL.md §3):
// HttpOnly, SameSite=Lax, Path=/, host-only, Secure when the site runs in
// production.
const SessionCookie = "ost_token"

// FoldEqual reports whether key is a spelling of the header name folded,
// given lowercase with "-": the same letters in any case, with "_" or "."
// for "-" (Node and several proxies convert between them, so a server
// behind one may take any of them as the header). It does not allocate.
func FoldEqual(key, folded string) bool {
	if len(key) != len(folded) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}

// TakeHeader removes every spelling of the header folded (see FoldEqual)
// from h and returns the values they had, all of them.
func TakeHeader(h http.Header, folded string) []string {
	var values []string
	for key, vv := range h {
		if FoldEqual(key, folded) {
			values = append(values, vv...)
			delete(h, key)
		}
	}
	return values
}
