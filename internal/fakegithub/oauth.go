package fakegithub

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code can be exchanged
// (GitHub: "The code will expire after 10 minutes").
const codeLifetime = 10 * time.Minute

// docsTroubleshoot prefixes the error_uri values GitHub sends.
const docsTroubleshoot = "https://docs.github.com/apps/managing-oauth-apps/"

// grant is what authorize remembers about a code until it is exchanged.
type grant struct {
	clientID, redirectURI string
	challenge             string
	user                  User
	scopes                []string
	expires               time.Time
}

// oauthAPI serves the OAuth web flow (authorize, access_token, refresh)
// from its Server's state.
type oauthAPI struct{ *Server }

// authorize is GET /login/oauth/authorize. The user is signed in and the
// app approved already, so a valid request redirects at once; for the same
// reason allow_signup, login and prompt change nothing.
func (s oauthAPI) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		notFoundPage(w)
		return
	}
	_ = r.ParseForm()
	q := r.Form
	s.mu.Lock()
	clientID, callback, deny, user := s.ClientID, s.CallbackURL, s.Deny, s.User
	s.mu.Unlock()

	// GitHub shows a 404 page for an unknown application.
	if q.Get("client_id") == "" || q.Get("client_id") != clientID {
		notFoundPage(w)
		return
	}
	back := url.Values{}
	if q.Has("state") {
		back.Set("state", q.Get("state"))
	}
	redirect, ok := resolveRedirect(callback, q.Get("redirect_uri"))
	if !ok {
		if callback == "" {
			errorPage(w, http.StatusBadRequest, "redirect_uri_mismatch",
				"The redirect_uri is not a valid absolute http(s) URL.")
			return
		}
		// Documented: a mismatch goes back to the registered callback.
		redirectError(w, r, callback, back, "redirect_uri_mismatch",
			"The redirect_uri MUST match the registered callback URL for this application.",
			docsTroubleshoot+"troubleshooting-authorization-request-errors/#redirect-uri-mismatch")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && (q.Get("code_challenge_method") != "S256" || len(challenge) != 43) {
		// GitHub documents S256 only and 43 characters; what it answers
		// otherwise is not documented, so this is the RFC 6749 error.
		redirectError(w, r, redirect, back, "invalid_request",
			"code_challenge_method must be S256 and code_challenge 43 characters long.",
			"https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps")
		return
	}
	if deny {
		redirectError(w, r, redirect, back, "access_denied",
			"The user has denied your application access.",
			docsTroubleshoot+"troubleshooting-authorization-request-errors/#access-denied")
		return
	}
	code := randomHex(20)
	s.mu.Lock()
	s.codes[code] = &grant{clientID: clientID, redirectURI: redirect, challenge: challenge,
		user: user, scopes: parseScopes(q.Get("scope")), expires: s.now().Add(codeLifetime)}
	s.mu.Unlock()
	back.Set("code", code)
	http.Redirect(w, r, withQuery(redirect, back), http.StatusFound)
}

// accessToken is POST /login/oauth/access_token. Errors come back with
// status 200, as GitHub sends them; the code is used up only by success.
func (s oauthAPI) accessToken(w http.ResponseWriter, r *http.Request, rec Recorded) {
	if r.Method != http.MethodPost {
		notFoundPage(w)
		return
	}
	form := url.Values{}
	for k, v := range rec.Query {
		form[k] = v
	}
	for k, v := range rec.Form {
		form[k] = v
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	accept := r.Header.Get("Accept")

	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || id != s.ClientID || secret != s.ClientSecret {
		tokenReply(w, accept, oauthError("incorrect_client_credentials",
			"The client_id and/or client_secret passed are incorrect.",
			"troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"))
		return
	}
	if form.Get("grant_type") == "refresh_token" {
		s.refreshGrant(w, accept, id, form.Get("refresh_token"))
		return
	}
	code := form.Get("code")
	g := s.codes[code]
	if g != nil && s.now().After(g.expires) {
		delete(s.codes, code)
		g = nil
	}
	if g == nil || g.clientID != id {
		tokenReply(w, accept, badCode("The code passed is incorrect or expired."))
		return
	}
	if ru := form.Get("redirect_uri"); ru != "" && ru != g.redirectURI {
		tokenReply(w, accept, oauthError("redirect_uri_mismatch",
			"The redirect_uri MUST match the registered callback URL for this application.",
			"troubleshooting-authorization-request-errors/#redirect-uri-mismatch2"))
		return
	}
	if g.challenge != "" && pkceChallenge(form.Get("code_verifier")) != g.challenge {
		tokenReply(w, accept, badCode("The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."))
		return
	}
	delete(s.codes, code)
	tokenReply(w, accept, s.tokenFields(s.issue(id, g.user, g.scopes)))
}

// refreshGrant renews a user token. As on GitHub, the refresh token and
// the access token it came with stop working. s.mu is held.
func (s oauthAPI) refreshGrant(w http.ResponseWriter, accept, clientID, refresh string) {
	rn := s.renew[refresh]
	if rn == nil || rn.clientID != clientID || !s.now().Before(rn.expires) {
		tokenReply(w, accept, oauthError("bad_refresh_token", "The refresh token passed is incorrect or expired.",
			"troubleshooting-oauth-app-access-token-request-errors/#bad-refresh-token"))
		return
	}
	delete(s.renew, refresh)
	delete(s.tokens, rn.access)
	tokenReply(w, accept, s.tokenFields(s.issue(clientID, rn.user, rn.scopes)))
}

func oauthError(code, description, anchor string) []tokenField {
	return []tokenField{{"error", code}, {"error_description", description},
		{"error_uri", docsTroubleshoot + anchor}}
}

func badCode(description string) []tokenField {
	return oauthError("bad_verification_code", description,
		"troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code")
}

// tokenField is one field of a token endpoint reply; a number is a JSON
// number in a JSON reply (GitHub's expires_in), text in the others.
type tokenField [2]any

// tokenReply writes fields in the format the Accept header asks for: JSON,
// XML, or (default) form encoding, as GitHub does.
func tokenReply(w http.ResponseWriter, accept string, fields []tokenField) {
	switch {
	case strings.Contains(accept, "application/json"):
		var b strings.Builder
		b.WriteString("{")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(",")
			}
			k, _ := json.Marshal(f[0])
			v, _ := json.Marshal(f[1])
			b.Write(k)
			b.WriteString(":")
			b.Write(v)
		}
		b.WriteString("}")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, b.String())
	case strings.Contains(accept, "application/xml"):
		var b strings.Builder
		b.WriteString("<OAuth>")
		for _, f := range fields {
			fmt.Fprintf(&b, "<%s>%s</%s>", f[0], html.EscapeString(fmt.Sprint(f[1])), f[0])
		}
		b.WriteString("</OAuth>")
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		fmt.Fprint(w, b.String())
	default:
		v := url.Values{}
		for _, f := range fields {
			v.Set(f[0].(string), fmt.Sprint(f[1]))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		fmt.Fprint(w, v.Encode())
	}
}

// pkceChallenge is the S256 transform of RFC 7636: base64url(SHA-256),
// without padding. An empty verifier never matches.
func pkceChallenge(verifier string) string {
	if verifier == "" {
		return "-"
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// parseScopes splits a scope parameter; GitHub takes spaces or commas.
func parseScopes(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// resolveRedirect picks where authorize sends the browser. With no
// registered callback any absolute http(s) URL without a fragment will do;
// with one, GitHub's documented rules apply.
func resolveRedirect(callback, redirect string) (string, bool) {
	ru, err := url.Parse(redirect)
	valid := err == nil && (ru.Scheme == "http" || ru.Scheme == "https") && ru.Host != "" &&
		ru.Fragment == "" && ru.User == nil
	if callback == "" {
		return redirect, valid
	}
	if redirect == "" {
		return callback, true
	}
	cb, err := url.Parse(callback)
	if !valid || err != nil || !strings.EqualFold(cb.Scheme, ru.Scheme) {
		return "", false
	}
	ch, rh := strings.ToLower(cb.Hostname()), strings.ToLower(ru.Hostname())
	if rh != ch && !strings.HasSuffix(rh, "."+ch) {
		return "", false
	}
	// The port must match, except for loopback callbacks (native apps
	// pick a free port at run time).
	if ip := net.ParseIP(ch); (ip == nil || !ip.IsLoopback()) && cb.Port() != ru.Port() {
		return "", false
	}
	base := strings.TrimSuffix(cb.Path, "/")
	if ru.Path != cb.Path && ru.Path != base && !strings.HasPrefix(ru.Path, base+"/") {
		return "", false
	}
	if strings.Contains("/"+ru.Path+"/", "/../") || strings.Contains("/"+ru.Path+"/", "/./") {
		return "", false
	}
	return redirect, true
}

// redirectError sends the browser to target with an OAuth error.
func redirectError(w http.ResponseWriter, r *http.Request, target string, back url.Values, code, description, uri string) {
	v := url.Values{"error": {code}, "error_description": {description}, "error_uri": {uri}}
	if back.Has("state") {
		v.Set("state", back.Get("state"))
	}
	http.Redirect(w, r, withQuery(target, v), http.StatusFound)
}

// withQuery appends v to u's query, keeping what u already has.
func withQuery(u string, v url.Values) string {
	if len(v) == 0 {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + v.Encode()
}

// notFoundPage is GitHub's HTML 404.
func notFoundPage(w http.ResponseWriter) {
	errorPage(w, http.StatusNotFound, "Not Found", "This is not the web page you are looking for.")
}

func errorPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s · GitHub</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
