// Command fakegh runs internal/fakegithub on a free loopback port for the
// benchmarks in bench/ (a module of its own, which cannot import this
// module's internal packages). It signs in one user at once at authorize,
// serves the acme/blog repository with a media file of -media-bytes at
// public/images/bench.png, keeps no record of the requests, and prints,
// one per line:
//
//	url=<base URL>          base_url of the relay's github block
//	api_url=<REST root>     api_url
//	graphql_url=<URL>       graphql_url
//	token=<token>           a token of the user's, for direct contents calls
//	parser_body=<JSON>      the dashboard's first parser call (its Collections
//	                        query of outstatic/content), as the relay gets it
//	ready
//
// It runs until it is killed.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

func main() {
	clientID := flag.String("client-id", "Iv1.bench", "the relay's OAuth app client id")
	clientSecret := flag.String("client-secret", "", "the relay's OAuth app client secret (required)")
	login := flag.String("login", "ada", "the GitHub login of the user who signs in")
	mediaBytes := flag.Int("media-bytes", 256<<10, "size of public/images/bench.png")
	flag.Parse()
	if *clientSecret == "" {
		fmt.Fprintln(os.Stderr, "fakegh: -client-secret is required")
		os.Exit(2)
	}
	gh := fakegithub.New(*clientID, *clientSecret, fakegithub.User{
		Login: *login, Name: "Bench User", ID: 1,
		Emails: []fakegithub.Email{{Email: *login + "@example.com", Primary: true, Verified: true}},
	})
	// Minutes of load: a record of every request would grow without bound.
	gh.ForgetRequests = true
	gh.Start()
	defer gh.Close()
	// A PNG signature and filler: the relay's media route types it by
	// extension, not content.
	gh.PutFile("main", "public/images/bench.png", "\x89PNG\r\n\x1a\n"+strings.Repeat("x", max(*mediaBytes-8, 0)))
	gh.PutFile("main", "outstatic/content/posts/hello-world.md", "---\ntitle: Hello\nstatus: published\n---\n\nHello.\n")
	// One line of JSON: json.Marshal writes no newline.
	parser := fakegithub.DashboardRequest("Collections", fakegithub.DashboardDocuments()["Collections"],
		map[string]any{"owner": "acme", "name": "blog", "contentPath": "main:outstatic/content"})
	fmt.Printf("url=%s\napi_url=%s\ngraphql_url=%s\ntoken=%s\nparser_body=%s\nready\n",
		gh.URL(), gh.APIURL(), gh.GraphQLURL(), gh.IssueToken("repo", "read:user", "user:email"), parser)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
