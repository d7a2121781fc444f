package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	testID     = "Iv1.0123456789abcdef"
	testSecret = "0123456789abcdef0123456789abcdef01234567"
	testCB     = "http://127.0.0.1:7777/outstatic/auth/github/callback"
)

func testUser() User {
	private := "private"
	return User{Login: "acme", Name: "Acme Writer", ID: 4242, Emails: []Email{
		{Email: "writer@example.com", Primary: true, Verified: true, Visibility: &private},
		{Email: "4242+acme@users.noreply.github.com", Verified: true},
	}}
}

func start(t *testing.T) *Server {
	t.Helper()
	s := New(testID, testSecret, testUser())
	base := s.Start()
	t.Cleanup(s.Close)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base URL %q is not on 127.0.0.1", base)
	}
	return s
}

func oauthConfig(s *Server, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: testID, ClientSecret: testSecret, RedirectURL: redirect,
		Scopes:   []string{"read:user", "user:email", "repo"},
		Endpoint: oauth2.Endpoint{AuthURL: s.AuthURL(), TokenURL: s.TokenURL()}}
}

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize visits u and returns the query of the redirect it answers.
func authorize(t *testing.T, u string) url.Values {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query()
}

func retrieveCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a RetrieveError", err)
	}
	if re.Response.StatusCode != http.StatusOK {
		t.Errorf("token error status %d; GitHub answers errors with 200", re.Response.StatusCode)
	}
	return re.ErrorCode
}

func TestWebFlowWithOAuth2(t *testing.T) {
	s := start(t)
	conf := oauthConfig(s, testCB)
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	back := authorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier)))
	if back.Get("state") != "st-1" || len(back.Get("code")) != 20 {
		t.Fatalf("redirect query %v", back)
	}
	tok, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "gho_") || len(tok.AccessToken) != 40 || tok.TokenType != "bearer" {
		t.Errorf("token %+v", tok)
	}
	if got := tok.Extra("scope"); got != "read:user,user:email,repo" {
		t.Errorf("scope %v", got)
	}
	if _, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); retrieveCode(t, err) != "bad_verification_code" {
		t.Errorf("replayed code: %v", err)
	}

	// A client using the token the ordinary way reads /user.
	resp, err := conf.Client(ctx, tok).Get(s.APIURL() + "/user")
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Login string  `json:"login"`
		ID    int64   `json:"id"`
		Name  string  `json:"name"`
		Email *string `json:"email"`
		Type  string  `json:"type"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me.Login != "acme" || me.ID != 4242 || me.Name != "Acme Writer" || me.Email != nil || me.Type != "User" {
		t.Errorf("/user = %+v", me)
	}
	if toks := s.Tokens(); len(toks) != 1 || toks[0].Value != tok.AccessToken || toks[0].ClientID != testID {
		t.Errorf("Tokens() = %+v", toks)
	}
}

func TestExchangeFailures(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	conf := oauthConfig(s, testCB)
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // as the relay sets it
	code := func() (string, string) {
		v := oauth2.GenerateVerifier()
		return authorize(t, conf.AuthCodeURL("x", oauth2.S256ChallengeOption(v))).Get("code"), v
	}
	c, v := code()
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier())); retrieveCode(t, err) != "bad_verification_code" {
		t.Errorf("wrong verifier: %v", err)
	}
	if _, err := conf.Exchange(ctx, c); retrieveCode(t, err) != "bad_verification_code" {
		t.Errorf("missing verifier: %v", err)
	}
	bad := *conf
	bad.ClientSecret = "nope"
	if _, err := bad.Exchange(ctx, c, oauth2.VerifierOption(v)); retrieveCode(t, err) != "incorrect_client_credentials" {
		t.Errorf("wrong secret: %v", err)
	}
	other := *conf
	other.RedirectURL = "http://127.0.0.1:7777/elsewhere"
	if _, err := other.Exchange(ctx, c, oauth2.VerifierOption(v)); retrieveCode(t, err) != "redirect_uri_mismatch" {
		t.Errorf("wrong redirect_uri: %v", err)
	}
	// Failed attempts leave the code usable.
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(v)); err != nil {
		t.Errorf("after failures: %v", err)
	}

	// Codes expire after ten minutes.
	now := time.Now()
	s.mu.Lock()
	s.Now = func() time.Time { return now }
	s.mu.Unlock()
	c, v = code()
	s.mu.Lock()
	now = now.Add(11 * time.Minute)
	s.mu.Unlock()
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(v)); retrieveCode(t, err) != "bad_verification_code" {
		t.Errorf("expired code: %v", err)
	}
}

// postToken sends the token request by hand.
func postToken(t *testing.T, s *Server, form url.Values, accept string, basic bool) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if basic {
		req.SetBasicAuth(testID, testSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token endpoint status %d", resp.StatusCode)
	}
	return resp.Header.Get("Content-Type"), string(b)
}

func TestTokenEndpointByHand(t *testing.T) {
	s := start(t)
	code := authorize(t, s.AuthURL()+"?client_id="+testID+"&redirect_uri="+url.QueryEscape(testCB)+"&scope=repo").Get("code")
	ct, body := postToken(t, s, url.Values{"code": {code}}, "", true)
	vals, _ := url.ParseQuery(body)
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") || !strings.HasPrefix(vals.Get("access_token"), "gho_") ||
		vals.Get("token_type") != "bearer" || vals.Get("scope") != "repo" {
		t.Errorf("form reply %s %q", ct, body)
	}
	ct, body = postToken(t, s, url.Values{"client_id": {testID}, "client_secret": {testSecret}, "code": {code}}, "application/json", false)
	want := `{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}`
	if !strings.HasPrefix(ct, "application/json") || body != want {
		t.Errorf("JSON error %s %s", ct, body)
	}
	_, body = postToken(t, s, url.Values{"client_id": {testID}, "code": {code}}, "application/json", false)
	if !strings.Contains(body, `"incorrect_client_credentials"`) {
		t.Errorf("missing secret: %s", body)
	}
	var rec *Recorded
	for _, r := range s.Requests() {
		if r.Path == "/login/oauth/access_token" && r.Form.Get("client_secret") != "" {
			rec = &r
		}
	}
	if rec == nil || rec.Form.Get("client_secret") != testSecret || rec.Header.Get("Accept") != "application/json" {
		t.Errorf("recorded %+v", rec)
	}
}

// A fake that forgets its requests still answers the token endpoint from
// the form and the query, and keeps none of them.
func TestForgetRequests(t *testing.T) {
	s := New(testID, testSecret, testUser())
	s.ForgetRequests = true
	s.Start()
	t.Cleanup(s.Close)
	code := authorize(t, s.AuthURL()+"?client_id="+testID+"&redirect_uri="+url.QueryEscape(testCB)+"&scope=repo").Get("code")
	_, body := postToken(t, s, url.Values{"client_id": {testID}, "client_secret": {testSecret}, "code": {code}}, "", false)
	if vals, _ := url.ParseQuery(body); !strings.HasPrefix(vals.Get("access_token"), "gho_") {
		t.Errorf("token reply %q", body)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests recorded, want none", n)
	}
}

func TestAuthorizePages(t *testing.T) {
	s := start(t)
	get := func(q string) *http.Response {
		resp, err := noFollow.Get(s.AuthURL() + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("client_id=unknown&redirect_uri=" + url.QueryEscape(testCB)); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown client: %d", r.StatusCode)
	}
	for _, ru := range []string{"", "/relative", "ftp://x/y", "http://127.0.0.1/cb#frag"} {
		if r := get("client_id=" + testID + "&redirect_uri=" + url.QueryEscape(ru)); r.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %q: %d", ru, r.StatusCode)
		}
	}
	base := s.AuthURL() + "?client_id=" + testID + "&redirect_uri=" + url.QueryEscape(testCB+"?keep=1")
	if q := authorize(t, base); q.Has("state") || q.Get("keep") != "1" || q.Get("code") == "" {
		t.Errorf("no state given: %v", q)
	}
	if q := authorize(t, base+"&code_challenge=abc&code_challenge_method=plain&state=s"); q.Get("error") != "invalid_request" || q.Get("state") != "s" {
		t.Errorf("plain PKCE: %v", q)
	}
	s.SetDeny(true)
	q := authorize(t, base+"&state=s2&allow_signup=false&prompt=select_account&login=acme")
	if q.Get("error") != "access_denied" || q.Get("error_description") != "The user has denied your application access." ||
		q.Get("state") != "s2" || q.Has("code") || !strings.HasPrefix(q.Get("error_uri"), "https://docs.github.com/") {
		t.Errorf("deny: %v", q)
	}
}

func TestRegisteredCallback(t *testing.T) {
	s := New(testID, testSecret, testUser())
	s.CallbackURL = "https://relay.example.com/outstatic/auth"
	s.Start()
	defer s.Close()
	at := func(ru string) string {
		resp, err := noFollow.Get(s.AuthURL() + "?client_id=" + testID + "&state=z&redirect_uri=" + url.QueryEscape(ru))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	for _, ok := range []string{"", "https://relay.example.com/outstatic/auth/github/callback", "https://eu.relay.example.com/outstatic/auth"} {
		if loc := at(ok); !strings.Contains(loc, "code=") {
			t.Errorf("%q refused: %s", ok, loc)
		}
	}
	for _, bad := range []string{"https://relay.example.com/other", "https://relay.example.com:8443/outstatic/auth", "https://evil.example/outstatic/auth"} {
		loc := at(bad)
		if !strings.HasPrefix(loc, s.CallbackURL+"?") || !strings.Contains(loc, "error=redirect_uri_mismatch") || !strings.Contains(loc, "state=z") {
			t.Errorf("%q: %s", bad, loc)
		}
	}
}

func apiGet(t *testing.T, u, auth string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestUserEndpoints(t *testing.T) {
	s := start(t)
	full := s.IssueToken("read:user", "user:email")
	narrow := s.IssueToken("read:user")
	if code, _, body := apiGet(t, s.APIURL()+"/user", ""); code != 401 || !strings.Contains(body, `"Requires authentication"`) {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _, body := apiGet(t, s.APIURL()+"/user", "Bearer gho_nope"); code != 401 || !strings.Contains(body, `"message":"Bad credentials"`) {
		t.Errorf("bad token: %d %s", code, body)
	}
	code, h, body := apiGet(t, s.APIURL()+"/user", "token "+full)
	if code != 200 || !strings.Contains(body, `"email":null`) || h.Get("X-OAuth-Scopes") != "read:user, user:email" {
		t.Errorf("/user: %d %v %s", code, h, body)
	}
	code, _, body = apiGet(t, s.APIURL()+"/user/emails", "Bearer "+full)
	var emails []Email
	if err := json.Unmarshal([]byte(body), &emails); code != 200 || err != nil || len(emails) != 2 ||
		!emails[0].Primary || *emails[0].Visibility != "private" || emails[1].Visibility != nil {
		t.Errorf("/user/emails: %d %s", code, body)
	}
	if code, _, _ := apiGet(t, s.APIURL()+"/user/emails", "Bearer "+narrow); code != 404 {
		t.Errorf("/user/emails without user:email: %d", code)
	}
	if code, _, _ := apiGet(t, s.APIURL()+"/user/emails", ""); code != 401 {
		t.Errorf("/user/emails without token: %d", code)
	}
	if code, _, _ := apiGet(t, s.APIURL()+"/repos/acme/blog", "Bearer "+full); code != 404 {
		t.Errorf("private repo without repo scope: %d", code)
	}
	code, _, body = apiGet(t, s.APIURL()+"/repos/acme/blog", "Bearer "+s.IssueToken("repo"))
	if code != 200 || !strings.Contains(body, `"push":true`) || !strings.Contains(body, `"default_branch":"main"`) {
		t.Errorf("/repos: %d %s", code, body)
	}
	// A token keeps the user it was issued to.
	u := testUser()
	u.Login, u.Email = "other", "other@example.com"
	s.SetUser(u)
	if _, _, body := apiGet(t, s.APIURL()+"/user", "Bearer "+full); !strings.Contains(body, `"login":"acme"`) {
		t.Errorf("after SetUser: %s", body)
	}
	if _, _, body := apiGet(t, s.APIURL()+"/user", "Bearer "+s.IssueToken()); !strings.Contains(body, `"email":"other@example.com"`) {
		t.Errorf("new user: %s", body)
	}
}
