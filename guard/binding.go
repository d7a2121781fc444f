package guard

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

// Binding ties a relay login to the browser that started it. The stock
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
type Binding struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// The binding cookie's names: with the __Host- prefix on https, where
// browsers honour it, and without on plain http, where they refuse it.
const (
	BindingCookie       = "ost_login_binding"
	BindingCookieSecure = "__Host-ost_login_binding"
	bindingVersion      = "v2"
)

// WithClock returns b reading the time from now (tests mint expired
// cookies with it).
func (b Binding) WithClock(now func() time.Time) Binding {
	b.now = now
	return b
}

func (b Binding) cookieName(secure bool) string {
	if secure {
		return BindingCookieSecure
	}
	return BindingCookie
}

// Value mints a fresh cookie value for site:
// v2.<expiry unix>.<login id>.<mac>.
func (b Binding) Value(site string) string {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	payload := bindingVersion + "." + strconv.FormatInt(b.now().Add(b.ttl).Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(id)
	return payload + "." + base64.RawURLEncoding.EncodeToString(b.mac(payload, site))
}

func (b Binding) mac(payload, site string) []byte {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte(payload))
	m.Write([]byte{0})
	m.Write([]byte(site))
	return m.Sum(nil)
}

// bindingFault says why a request's binding cookie does not open; the
// guard's log names it, so that a deployment error is told from an attack.
type bindingFault int

// The faults, from the least to the most telling: login reports the most
// telling one among a request's cookies.
const (
	bindingOK bindingFault = iota
	// bindingMissing: no binding cookie at all (another browser, cookies
	// blocked, or a token sent to a browser that started no login).
	bindingMissing
	// bindingMalformed: a cookie of the name that is not a binding.
	bindingMalformed
	// bindingExpired: a binding of this guard, older than binding_ttl.
	bindingExpired
	// bindingForeign: a well-formed binding this guard did not sign: it
	// was minted by another Caddy instance with another binding_secret (or
	// with none, so a random one), or for another public site.
	bindingForeign
)

// check returns the login id and expiry of v if it is an unexpired value
// minted with this secret for site, and else why not.
func (b Binding) check(v, site string) (id string, expires time.Time, fault bindingFault) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || len(v) > 256 {
		return "", time.Time{}, bindingMalformed
	}
	payload, sig := v[:i], v[i+1:]
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != bindingVersion || parts[2] == "" {
		return "", time.Time{}, bindingMalformed
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, bindingMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "", time.Time{}, bindingMalformed
	}
	if !hmac.Equal(got, b.mac(payload, site)) {
		return "", time.Time{}, bindingForeign
	}
	if b.now().Unix() >= exp {
		return "", time.Time{}, bindingExpired
	}
	return parts[2], time.Unix(exp, 0), bindingOK
}

// set adds a fresh binding cookie for site to the response.
func (b Binding) set(w http.ResponseWriter, secure bool, site string) {
	http.SetCookie(w, &http.Cookie{
		Name:     b.cookieName(secure),
		Value:    b.Value(site),
		Path:     "/",
		MaxAge:   int(b.ttl / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// clear expires the binding cookie: a binding is good for one login.
func (b Binding) clear(w http.ResponseWriter, secure bool) {
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
// carries for site, if any, and else the most telling fault among its
// cookies. With several cookies of the name (a sibling host may set one),
// any valid one counts: each is single use anyway.
func (b Binding) login(r *http.Request, secure bool, site string) (string, time.Time, bindingFault) {
	worst := bindingMissing
	for _, c := range r.CookiesNamed(b.cookieName(secure)) {
		id, exp, fault := b.check(c.Value, site)
		if fault == bindingOK {
			return id, exp, bindingOK
		}
		worst = max(worst, fault)
	}
	return "", time.Time{}, worst
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
