package github_test

import (
	"net/http"
	"os"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
)

// A GraphQL client for a session without a GitHub token of its own, acting
// as the site owner's App installation on acme/blog.
func Example() {
	key, err := os.ReadFile("app-private-key.pem")
	if err != nil {
		return
	}
	ts, err := github.NewTokenSource(github.AppConfig{AppID: 123456, PrivateKey: key, Owner: "acme", Repo: "blog"})
	if err != nil {
		return
	}
	client := &http.Client{Transport: ts.Transport(nil)}
	_, _ = client.Post("https://api.github.com/graphql", "application/json", nil)
}
