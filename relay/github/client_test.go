package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The defaults of an app's URLs are filled in once, here.
func TestOAuthAppDefaults(t *testing.T) {
	a := OAuthApp{}.WithDefaults()
	if a.BaseURL != DefaultBaseURL || a.APIURL != DefaultAPIURL || a.GraphQLURL != DefaultAPIURL+"/graphql" {
		t.Errorf("defaults: %+v", a)
	}
	ghes := OAuthApp{BaseURL: "https://ghe.example/", APIURL: "https://ghe.example/api/v3/", GraphQLURL: "https://ghe.example/api/graphql"}.WithDefaults()
	if ghes.BaseURL != "https://ghe.example" || ghes.APIURL != "https://ghe.example/api/v3" || ghes.GraphQLURL != "https://ghe.example/api/graphql" {
		t.Errorf("GitHub Enterprise Server: %+v", ghes)
	}
	if (OAuthApp{ClientID: "x"}).Check() == nil || (OAuthApp{ClientSecret: "y"}).Check() == nil ||
		(OAuthApp{ClientID: "x", ClientSecret: "y"}).Check() != nil || (OAuthApp{APIURL: "https://ghe.example"}).Check() != nil {
		t.Error("Check: client_id and client_secret go together, or neither is given")
	}
	if (OAuthApp{}).Configured() || !(OAuthApp{ClientID: "x", ClientSecret: "y"}).Configured() {
		t.Error("Configured: an app is configured by its credentials")
	}
}

// A refusal is GitHub's answer; an outage is no answer or a server error.
func TestErrorClasses(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	answers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/user":
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		default:
			http.Error(w, "down", http.StatusBadGateway)
		}
	}))
	defer answers.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	ctx := context.Background()

	_, err := New(OAuthApp{APIURL: gone.URL}, "", client, time.Now).User(ctx, "t")
	if !Unreachable(err) || Refused(err) {
		t.Errorf("no answer: %v (unreachable %v, refused %v)", err, Unreachable(err), Refused(err))
	}
	c := New(OAuthApp{APIURL: answers.URL}, "", client, time.Now)
	_, err = c.User(ctx, "t")
	if Unreachable(err) || !Refused(err) {
		t.Errorf("a 401: %v", err)
	}
	_, _, err = c.Tree(ctx, "t", "acme", "blog", "main", 1<<20)
	if Unreachable(err) || Refused(err) || errors.Is(err, ErrNotFound) {
		t.Errorf("a 502: %v", err)
	}
	if !errors.Is(&Error{Op: "x", Status: 404}, ErrNotFound) {
		t.Error("a 404 is not ErrNotFound")
	}
}
