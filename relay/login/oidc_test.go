package login

import (
	"testing"

	"golang.org/x/oauth2"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

func TestTokenAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		want    oauth2.AuthStyle
	}{
		{nil, oauth2.AuthStyleInHeader}, // the spec's default: client_secret_basic
		{[]string{"client_secret_basic"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInParams}, // Google's, mockoidc's
		{[]string{"client_secret_post"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt"}, oauth2.AuthStyleInHeader},
	} {
		if got := tokenAuthStyle(tc.methods); got != tc.want {
			t.Errorf("tokenAuthStyle(%v) = %v, want %v", tc.methods, got, tc.want)
		}
	}
}

// Both forms of both callback routes fall back to the callback origin.
func TestSiteFallback(t *testing.T) {
	o, err := validate.ParseOrigin("https://blog.example.com/outstatic")
	if err != nil {
		t.Fatal(err)
	}
	targets := validate.Targets{Origins: []validate.Origin{o}}
	for _, cb := range []string{
		"https://blog.example.com/outstatic/api/outstatic/magic-link-callback",
		"https://blog.example.com/outstatic/api/outstatic/callback",
		"https://blog.example.com/api/outstatic/callback",
		"https://blog.example.com/api/outstatic/magic-link-callback",
	} {
		if got := siteFallback(targets, cb); got != "https://blog.example.com/outstatic" {
			t.Errorf("siteFallback(%s) = %q", cb, got)
		}
	}
}
