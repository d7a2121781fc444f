package login

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
)

// OIDC is an OpenID Connect login, Google's or any issuer's: it answers
// Google's slot (google-exchange, #3).
type OIDC struct {
	// Name names the login in logs and its login states ("google").
	Name string
	// Issuer is the issuer URL; its discovery document says the rest.
	Issuer string
	// ClientID and ClientSecret are the relay's client at the issuer,
	// whose redirect URI is the relay's /outstatic/auth/oidc/callback.
	ClientID, ClientSecret string
}

// Check is the one check of an OpenID Connect login's settings.
func (o OIDC) Check() error {
	switch {
	case o.Name == "" || o.Name == "github":
		return fmt.Errorf("oidc: name %q: want a name such as google", o.Name)
	case o.Issuer == "":
		return errors.New("oidc needs issuer <url>")
	case o.ClientID == "" || o.ClientSecret == "":
		return errors.New("oidc needs client_id and client_secret")
	}
	return nil
}

// oidcLogin is the OpenID Connect login provider: the authorization code
// flow with PKCE S256 and a nonce, the ID token verified by go-oidc
// (signature, issuer, audience, expiry) and its nonce checked here. Only
// a verified e-mail address says who the user is; the member has no
// GitHub token (the native relay's repository access gives it the
// relay's GitHub App's).
//
// The issuer is discovered at the first login, not at configuration, so
// that an issuer that is down does not keep the server from starting; a
// failed discovery is tried again at the next login.
type oidcLogin struct {
	cfg      OIDC
	callback string
	client   *http.Client
	now      func() time.Time

	discovery singleflight.Group
	mu        sync.Mutex // guards oauth and verifier
	oauth     *oauth2.Config
	verifier  *oidc.IDTokenVerifier
}

func newOIDCLogin(s Setup) (Provider, error) {
	cfg := s.Config.OIDC
	if cfg == nil {
		return nil, nil
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return &oidcLogin{cfg: *cfg, callback: s.Callback, client: limitedClient(s.Config.Client, issuerMaxBody), now: s.Config.Now}, nil
}

// Name is "oidc:" and the configured name.
func (o *oidcLogin) Name() string { return "oidc:" + o.cfg.Name }

// prepare discovers the issuer once. Logins that arrive while a discovery
// is under way wait for that one (singleflight) rather than in turn, so a
// hung issuer holds each for one client timeout, not one per login ahead
// of it; a login whose request ends stops waiting.
func (o *oidcLogin) prepare(ctx context.Context) error {
	o.mu.Lock()
	ready := o.oauth != nil
	o.mu.Unlock()
	if ready {
		return nil
	}
	select {
	case res := <-o.discovery.DoChan("", func() (any, error) { return nil, o.discover() }):
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// discover fetches the issuer's discovery document and keeps the
// provider it describes.
func (o *oidcLogin) discover() error {
	// The provider keeps this context to fetch the issuer's keys later:
	// it must outlive the request. The client's timeout bounds each fetch.
	p, err := oidc.NewProvider(oidc.ClientContext(context.Background(), o.client), o.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("oidc discovery of %s: %v", o.cfg.Issuer, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return fmt.Errorf("oidc discovery of %s: %v", o.cfg.Issuer, err)
	}
	endpoint := p.Endpoint()
	endpoint.AuthStyle = tokenAuthStyle(meta.AuthMethods)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now})
	o.oauth = &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret,
		Endpoint: endpoint, RedirectURL: o.callback,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
	return nil
}

// tokenAuthStyle is how the client first authenticates at the token
// endpoint, from the methods the issuer's discovery document lists: with
// Basic authentication (client_secret_basic), which is what a client
// registered without naming a method has (OpenID Connect Registration's
// default: Hydra, Okta and Keycloak enforce it), unless the issuer takes
// only client_secret_post. Discovery lists what the issuer supports, not
// what this client was registered with, so exchange may still switch.
func tokenAuthStyle(methods []string) oauth2.AuthStyle {
	if !slices.Contains(methods, "client_secret_basic") && slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// exchange redeems code, authenticating the way that last worked. An
// issuer that definitely refuses the client's authentication (an OAuth
// invalid_client, or invalid_request from one that reads the credentials
// only from the form) is asked once more the other way, and the way that
// worked is kept for the next logins: the code is not spent by a refused
// client. Left to oauth2 (AuthStyleAutoDetect), any failure would be
// tried again, so a hung token endpoint would hold the login for two
// client timeouts; here a timeout or any other answer is final.
func (o *oidcLogin) exchange(ctx context.Context, conf *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if err == nil || !errors.As(err, &re) || (re.ErrorCode != "invalid_client" && re.ErrorCode != "invalid_request") {
		return tok, err
	}
	other := &oauth2.Config{ClientID: conf.ClientID, ClientSecret: conf.ClientSecret,
		Endpoint: conf.Endpoint, RedirectURL: conf.RedirectURL, Scopes: conf.Scopes}
	other.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if conf.Endpoint.AuthStyle == oauth2.AuthStyleInParams {
		other.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	if tok, err = other.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		return nil, err
	}
	o.mu.Lock()
	if o.oauth == conf {
		o.oauth = other
	}
	o.mu.Unlock()
	return tok, nil
}

// nonce is the OpenID nonce of the login whose PKCE verifier is verifier:
// secret and unique per login like the verifier, and recomputed at the
// return without storing anything or changing the Provider seam.
func oidcNonce(verifier string) string {
	sum := sha256.Sum256([]byte("oidc-nonce:" + verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// LoginURL is the issuer's authorize URL for this login, once the issuer
// is discovered.
func (o *oidcLogin) LoginURL(ctx context.Context, state, verifier string) (string, error) {
	if err := o.prepare(ctx); err != nil {
		return "", err
	}
	o.mu.Lock()
	conf := o.oauth
	o.mu.Unlock()
	return conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(oidcNonce(verifier))), nil
}

// Redeem exchanges the code, verifies the ID token and reads the user's
// verified address.
func (o *oidcLogin) Redeem(ctx context.Context, code, verifier string) (Member, error) {
	if err := o.prepare(ctx); err != nil {
		return Member{}, err
	}
	o.mu.Lock()
	conf, idv := o.oauth, o.verifier
	o.mu.Unlock()
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.exchange(ctx, conf, code, verifier)
	if err != nil {
		return Member{}, redactErr(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Member{}, errors.New("oidc: the token response has no id_token")
	}
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		return Member{}, fmt.Errorf("oidc: %v", err)
	}
	if idt.Nonce != oidcNonce(verifier) {
		return Member{}, errors.New("oidc: the ID token's nonce is not this login's")
	}
	var claims struct {
		Email    string `json:"email"`
		Verified any    `json:"email_verified"`
		Name     string `json:"name"`
		Picture  string `json:"picture"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Member{}, fmt.Errorf("%w: %v", ErrUserData, err)
	}
	// Some issuers send the flag as a string.
	if v := claims.Verified; v != true && v != "true" {
		return Member{}, fmt.Errorf("%w: the e-mail address is not verified", ErrUserData)
	}
	// The address the issuer vouches for is the member it may be, by its
	// key; one that does not parse, or that a look-alike would need
	// folding to match, is no one's.
	key, err := identity.Email(claims.Email)
	if err != nil || !mail.ValidAddress(claims.Email) {
		return Member{}, fmt.Errorf("%w: no valid e-mail address", ErrUserData)
	}
	return Member{Email: claims.Email, Emails: []string{key}, Name: claims.Name, Avatar: claims.Picture}, nil
}

// Interface guard
var _ Redirector = (*oidcLogin)(nil)

// redactErr keeps an OAuth error's kind and drops what the issuer echoed.
func redactErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("oauth2: %s (status %d)", re.ErrorCode, re.Response.StatusCode)
	}
	return err
}
