package native

import (
	"context"
	"errors"
)

// Provider is one way to log in to the native relay: where the browser
// goes to log in, and how what it brings back becomes the user. It has the
// shape of oauth2-proxy's providers: adding a login (Google or any OpenID
// Connect issuer, e-mail links, a development login) adds a file with a
// type that implements it, and its routes to package protocol's table;
// nothing of GitHub's changes. Roles are the relay's business, not the
// provider's: a provider says who, the project's members say what.
//
// The GitHub repository access (the parser and media, with the member's
// GitHub token, renewed in github_token.go) is not the login provider's:
// a GitHub App installation token can stand in for it later without a
// GitHub login.
type Provider interface {
	// Name names the provider in logs ("github").
	Name() string
	// LoginURL is where the browser goes to log in. The provider sends it
	// back to the relay's callback with state; verifier is the login's
	// PKCE verifier, sent as its S256 challenge.
	LoginURL(state, verifier string) string
	// Redeem turns the code the provider sent back, with the login's
	// verifier, into the user. A failure to learn who the user is, once
	// the code was good, is errUserData.
	Redeem(ctx context.Context, code, verifier string) (member, error)
}

// errUserData: the provider took the code but did not say who the user
// is (the stock site's missing-user-data).
var errUserData = errors.New("reading the user failed")
