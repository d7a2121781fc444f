package outstatic

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// loginBinding ties a relay login to the browser that started it. The stock
// site accepts any exchange_token that reaches its callback, so a link with
// an attacker's token would log a victim into the attacker's account (login
// CSRF). The guard sets a short-lived HttpOnly cookie when the site's own
// page starts a login in this browser (see startedBySite) and requires it
// when the token comes back.
//
// The cookie names one login: a random login id, its expiry, and an HMAC
// over both and the public site it was set on, so any Caddy instance that
// shares the secret can check it and a client can neither extend it nor
// move it to another site. The guard records each login id it accepts
// (relay.BindingMemory), so a binding serves one callback even if the
// browser, or whoever copied the cookie, sends it again.
type loginBinding struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

const (
	bindingCookie       = "ost_login_binding"
	bindingCookieSecure = "__Host-ost_login_binding"
	bindingVersion      = "v2"
)

func (b loginBinding) cookieName(secure bool) string {
	if secure {
		return bindingCookieSecure
	}
	return bindingCookie
}

// value mints a fresh cookie value for site:
// v2.<expiry unix>.<login id>.<mac>.
func (b loginBinding) value(site string) string {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	payload := bindingVersion + "." + strconv.FormatInt(b.now().Add(b.ttl).Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(id)
	return payload + "." + base64.RawURLEncoding.EncodeToString(b.mac(payload, site))
}

func (b loginBinding) mac(payload, site string) []byte {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte(payload))
	m.Write([]byte{0})
	m.Write([]byte(site))
	return m.Sum(nil)
}

// check returns the login id and expiry of v if it is an unexpired value
// minted with this secret for site.
func (b loginBinding) check(v, site string) (id string, expires time.Time, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || len(v) > 256 {
		return "", time.Time{}, false
	}
	payload, sig := v[:i], v[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, b.mac(payload, site)) {
		return "", time.Time{}, false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != bindingVersion || parts[2] == "" {
		return "", time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || b.now().Unix() >= exp {
		return "", time.Time{}, false
	}
	return parts[2], time.Unix(exp, 0), true
}

// set adds a fresh binding cookie for site to the response.
func (b loginBinding) set(w http.ResponseWriter, secure bool, site string) {
	http.SetCookie(w, &http.Cookie{
		Name:     b.cookieName(secure),
		Value:    b.value(site),
		Path:     "/",
		MaxAge:   int(b.ttl / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// clear expires the binding cookie: a binding is good for one login.
func (b loginBinding) clear(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     b.cookieName(secure),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// login returns the login id and expiry of the valid binding cookie r
// carries for site, if any. With several cookies of the name (a sibling
// host may set one), any valid one counts: each is single use anyway.
func (b loginBinding) login(r *http.Request, secure bool, site string) (string, time.Time, bool) {
	for _, c := range r.CookiesNamed(b.cookieName(secure)) {
		if id, exp, ok := b.check(c.Value, site); ok {
			return id, exp, true
		}
	}
	return "", time.Time{}, false
}

// isPrefetch reports whether the browser is only prefetching: Next.js
// prefetches the sign-in page's login routes on every view, and a binding
// minted by a prefetch would make every visitor of that page look like
// someone who started a login.
func isPrefetch(r *http.Request) bool {
	// Next's router prefetches with RSC headers and an _rsc query; a click
	// on the stock sign-in page fetches the route without either.
	return r.Header.Get("Next-Router-Prefetch") != "" || r.Header.Get("RSC") != "" ||
		r.URL.Query().Has("_rsc") ||
		strings.Contains(strings.ToLower(r.Header.Get("Sec-Purpose")), "prefetch") ||
		strings.EqualFold(r.Header.Get("Purpose"), "prefetch")
}
