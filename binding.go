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
// CSRF). The guard sets a short-lived HttpOnly cookie when a login starts in
// this browser and requires it when the token comes back.
//
// The cookie carries its own expiry and an HMAC, so any Caddy instance that
// shares the secret can check it and a client cannot extend it.
type loginBinding struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

const (
	bindingCookie       = "ost_login_binding"
	bindingCookieSecure = "__Host-ost_login_binding"
	bindingVersion      = "v1"
)

func (b loginBinding) cookieName(secure bool) string {
	if secure {
		return bindingCookieSecure
	}
	return bindingCookie
}

// value mints a fresh cookie value: v1.<expiry unix>.<nonce>.<mac>.
func (b loginBinding) value() string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	payload := bindingVersion + "." + strconv.FormatInt(b.now().Add(b.ttl).Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(nonce)
	return payload + "." + base64.RawURLEncoding.EncodeToString(b.mac(payload))
}

func (b loginBinding) mac(payload string) []byte {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// valid reports whether v is an unexpired value minted with this secret.
func (b loginBinding) valid(v string) bool {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || len(v) > 256 {
		return false
	}
	payload, sig := v[:i], v[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, b.mac(payload)) {
		return false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != bindingVersion {
		return false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	return err == nil && b.now().Unix() < exp
}

// set adds the binding cookie to the response.
func (b loginBinding) set(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     b.cookieName(secure),
		Value:    b.value(),
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

// present reports whether r carries a valid binding cookie.
func (b loginBinding) present(r *http.Request, secure bool) bool {
	c, err := r.Cookie(b.cookieName(secure))
	return err == nil && b.valid(c.Value)
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
