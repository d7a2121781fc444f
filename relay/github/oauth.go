package github

import (
	"context"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// The web flow, with PKCE, and the renewal of a user's token. A GitHub
// App's user token expires (after eight hours) and comes with a refresh
// token, single use, that renews it; an OAuth app's token does not expire.

// Credential is a user's GitHub token as GitHub last gave it. Its JSON
// names are those the sessions that carry it, and the store, use.
type Credential struct {
	Token string `json:"g"`
	// Refresh renews Token; "" for a token that does not expire.
	Refresh string `json:"gr,omitempty"`
	// Expiry is when Token expires, Unix seconds; 0: never.
	Expiry int64 `json:"gx,omitempty"`
}

// renewEarly renews a token this long before GitHub's expiry, so that a
// call made with it does not race the expiry.
const renewEarly = time.Minute

// Expired reports whether cred is due for renewal at now; a token without
// an expiry never is.
func (cred Credential) Expired(now time.Time) bool {
	return cred.Expiry != 0 && now.Add(renewEarly).Unix() >= cred.Expiry
}

// LogsIn reports whether the client has an OAuth app to log in with.
func (c *Client) LogsIn() bool { return c.app.Configured() }

// LoginURL is GitHub's authorize URL for a login with state, whose PKCE
// verifier is verifier (sent as its S256 challenge).
func (c *Client) LoginURL(state, verifier string) string {
	return c.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange redeems the code GitHub sent back with the login's verifier.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (Credential, error) {
	tok, err := c.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.http), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Credential{}, oauthError("oauth token", err)
	}
	return c.credential(tok), nil
}

// Renew spends refresh for a new token. GitHub may answer without a new
// refresh token: refresh then stays the one to renew with.
func (c *Client) Renew(ctx context.Context, refresh string) (Credential, error) {
	tok, err := c.oauth.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, c.http), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return Credential{}, oauthError("oauth refresh", err)
	}
	cred := c.credential(tok)
	if cred.Refresh == "" {
		cred.Refresh = refresh
	}
	return cred, nil
}

// credential is tok with its expiry, Unix seconds on the relay's clock, or
// 0 for a token that does not expire. GitHub answers expires_in as a form
// field, which the oauth2 package turns into a wall-clock time only.
func (c *Client) credential(tok *oauth2.Token) Credential {
	secs := tok.ExpiresIn
	if secs == 0 {
		switch v := tok.Extra("expires_in").(type) {
		case int64:
			secs = v
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		case float64:
			secs = int64(v)
		}
	}
	cred := Credential{Token: tok.AccessToken, Refresh: tok.RefreshToken}
	if secs > 0 {
		cred.Expiry = c.now().Add(time.Duration(secs) * time.Second).Unix()
	}
	return cred
}
