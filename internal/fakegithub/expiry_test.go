package fakegithub

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// With TokenTTL, tokens expire as a GitHub App's user tokens do and the
// refresh_token grant renews them, spending the old pair.
func TestExpiringTokens(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	s := New(testID, testSecret, testUser())
	s.Now = func() time.Time { return time.Unix(0, now.Load()) }
	s.TokenTTL = 8 * time.Hour
	s.Start()
	t.Cleanup(s.Close)
	conf := oauthConfig(s, testCB)
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	back := authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") ||
		tok.Extra("expires_in") != int64(28800) || tok.Extra("refresh_token_expires_in") != int64(15811200) {
		t.Fatalf("token %+v, expires_in %v", tok, tok.Extra("expires_in"))
	}
	if code, _, _ := apiGet(t, s.APIURL()+"/user", "Bearer "+tok.AccessToken); code != 200 {
		t.Fatalf("/user with a fresh token: %d", code)
	}
	now.Add(int64(8 * time.Hour))
	if code, _, body := apiGet(t, s.APIURL()+"/user", "Bearer "+tok.AccessToken); code != 401 || !strings.Contains(body, "Bad credentials") {
		t.Fatalf("/user with an expired token: %d %s", code, body)
	}
	renewed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == tok.AccessToken || renewed.RefreshToken == tok.RefreshToken || !strings.HasPrefix(renewed.RefreshToken, "ghr_") {
		t.Fatalf("renewed %+v", renewed)
	}
	if code, _, _ := apiGet(t, s.APIURL()+"/user", "Bearer "+renewed.AccessToken); code != 200 {
		t.Fatalf("/user with a renewed token: %d", code)
	}
	// the refresh token was single use
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); retrieveCode(t, err) != "bad_refresh_token" {
		t.Fatalf("a spent refresh token: %v", err)
	}
	if toks := s.Tokens(); len(toks) != 1 || toks[0].Value != renewed.AccessToken || toks[0].Refresh != renewed.RefreshToken {
		t.Fatalf("Tokens() = %+v", toks)
	}
}

// TestTokenReplyAsGitHubDocuments: the JSON reply of the token endpoint
// has GitHub's documented types and values. A GitHub App's user token
// (expiring) has expires_in 28800 and refresh_token_expires_in 15811200
// as JSON numbers and "scope": ""; an OAuth app's token names its scopes
// and does not expire.
func TestTokenReplyAsGitHubDocuments(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want map[string]any
	}{
		{"GitHub App user token", 8 * time.Hour, map[string]any{"expires_in": float64(28800),
			"refresh_token_expires_in": float64(15811200), "scope": "", "token_type": "bearer"}},
		{"OAuth app token", 0, map[string]any{"scope": "repo,read:user", "token_type": "bearer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(testID, testSecret, testUser())
			s.TokenTTL = tc.ttl
			s.Start()
			t.Cleanup(s.Close)
			code := authorize(t, s.AuthURL()+"?client_id="+testID+"&redirect_uri="+url.QueryEscape(testCB)+"&scope=repo,read:user").Get("code")
			_, body := postToken(t, s, url.Values{"code": {code}}, "application/json", true)
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %#v, want %#v (%s)", k, got[k], v, body)
				}
			}
			if _, expires := got["expires_in"]; expires != (tc.ttl > 0) {
				t.Errorf("expires_in present: %v (%s)", expires, body)
			}
		})
	}
}
