package login

import (
	"net/http"
	"net/http/httptest"
	"slices"
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
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader}, // Google's, Hydra's, mockoidc's
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

// TestOIDCTokenAuthFallback: the token endpoint is asked the spec's way
// first (Basic), and once the other way after a definite refusal of the
// client's authentication; the way that worked is kept, and any other
// failure is not asked again.
func TestOIDCTokenAuthFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		accepts string // "basic", "post", or "" (a 500 to every request)
		calls   []string
		ok      bool
	}{
		{"basic only (Hydra, Okta)", "basic", []string{"basic", "basic"}, true},
		// mockoidc lists both but reads only the form: invalid_request
		{"post only", "post", []string{"basic", "post", "post"}, true},
		{"failing", "", []string{"basic", "basic"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				way := "post"
				if _, _, ok := r.BasicAuth(); ok {
					way = "basic"
				}
				calls = append(calls, way)
				w.Header().Set("Content-Type", "application/json")
				switch {
				case tc.accepts == "":
					w.WriteHeader(500)
					_, _ = w.Write([]byte(`{"error":"server_error"}`))
				case way != tc.accepts && way == "basic":
					w.WriteHeader(400)
					_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
				case way != tc.accepts:
					w.WriteHeader(401)
					_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				default:
					_, _ = w.Write([]byte(`{"access_token":"a","token_type":"bearer"}`))
				}
			}))
			defer srv.Close()
			o := &oidcLogin{}
			o.oauth = &oauth2.Config{ClientID: "c", ClientSecret: "s",
				Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: tokenAuthStyle([]string{"client_secret_basic", "client_secret_post"})}}
			for range 2 {
				_, err := o.exchange(t.Context(), o.oauth, "code", "verifier")
				if (err == nil) != tc.ok {
					t.Fatalf("exchange: %v", err)
				}
			}
			if !slices.Equal(calls, tc.calls) {
				t.Fatalf("the token endpoint was asked %v, want %v", calls, tc.calls)
			}
		})
	}
}
