package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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

// User reads /user and /user/emails at once: each answer here waits until
// both requests have arrived, so reads made one after the other fail.
// A refusal of /user is the error whatever /user/emails answers.
func TestUserReadsBothAtOnce(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	var refuseUser atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !refuseUser.Load() {
			arrived.Done()
			select {
			case <-both:
			case <-time.After(10 * time.Second):
				http.Error(w, "read alone", http.StatusConflict)
				return
			}
		}
		switch r.URL.Path {
		case "/user":
			if refuseUser.Load() {
				http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"login":"octo","name":null,"avatar_url":"https://a.example/o"}`)
		case "/user/emails":
			fmt.Fprint(w, `[{"email":"octo@example.com","primary":true,"verified":true}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(OAuthApp{APIURL: srv.URL}, "", &http.Client{Timeout: 20 * time.Second}, time.Now)
	u, err := c.User(context.Background(), "t")
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if u.Login != "octo" || len(u.Emails) != 1 || u.Emails[0].Address != "octo@example.com" || !u.Emails[0].Verified {
		t.Errorf("User read %+v", u)
	}
	refuseUser.Store(true)
	_, err = c.User(context.Background(), "t")
	if e := (*Error)(nil); !errors.As(err, &e) || e.Op != "GET /user" || e.Status != http.StatusUnauthorized {
		t.Errorf("a refused /user: %v", err)
	}
}
