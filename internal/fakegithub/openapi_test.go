package fakegithub

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/golang-jwt/jwt/v5"
)

// restRouter routes requests to the fake's REST API onto the operations
// of GitHub's published REST description (testdata/github-rest, trimmed
// to what the fake serves), with the fake's API URL as its server.
func restRouter(t *testing.T, s *Server) routers.Router {
	t.Helper()
	data, err := os.ReadFile("../../testdata/github-rest/api.github.com.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("loading GitHub's REST description: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.APIURL()}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// checkREST sends a request to the fake and validates the reply as
// GitHub's description states it: the status is one the operation
// lists, and the body has the required fields, types and formats of that
// status's schema. It returns the status and the body.
func checkREST(t *testing.T, router routers.Router, method, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	route, params, err := findRoute(router, req)
	if err != nil {
		t.Fatalf("%s %s is not an operation of GitHub's REST description: %v", method, url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			// a failure names the field, not the whole schema around it
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}},
	}
	if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
		t.Errorf("%s %s answered %d, not as GitHub's description says: %v\n%.300s", method, url, res.StatusCode, err, body)
	}
	return res.StatusCode, string(body)
}

// findRoute is router.FindRoute, except for the contents API, whose
// {path} holds slashes that the router matches as one segment: that
// route is found for the path's first segment, and given the whole path.
func findRoute(router routers.Router, req *http.Request) (*routers.Route, map[string]string, error) {
	owner, name, path, ok := contentsRoute(strings.TrimPrefix(req.URL.Path, "/api/v3"))
	if !ok || !strings.Contains(path, "/") {
		return router.FindRoute(req)
	}
	one := req.Clone(req.Context())
	one.URL.Path = "/api/v3/repos/" + owner + "/" + name + "/contents/x"
	route, params, err := router.FindRoute(one)
	if err == nil {
		params["path"] = path
	}
	return route, params, err
}

// TestRESTAsGitHubDescribesIt runs every REST operation the fake serves,
// with its successes and its refusals, through GitHub's published
// description of it.
func TestRESTAsGitHubDescribesIt(t *testing.T) {
	s := start(t)
	router := restRouter(t, s)
	api := s.APIURL()
	full := "Bearer " + s.IssueToken("read:user", "user:email", "repo")
	narrow := "Bearer " + s.IssueToken("read:user")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterApp(7, "relay", &key.PublicKey)
	s.Install(7, 70, "acme/blog")
	now := time.Now()
	app := "Bearer " + appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(-time.Minute), now.Add(9*time.Minute))

	for _, c := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/user", full, 200},
		{"GET", "/user", "", 401},
		{"GET", "/user/emails", full, 200},
		{"GET", "/user/emails", narrow, 404},
		{"GET", "/repos/acme/blog", full, 200},
		{"GET", "/repos/acme/blog", narrow, 404},
		{"GET", "/repos/acme/nothing", full, 404},
		// The stock site's own GitHub login asks this of every user.
		{"GET", "/repos/acme/blog/collaborators/acme", full, 204},
		{"GET", "/repos/acme/blog/collaborators/someone-else", full, 404},
		{"GET", "/repos/acme/blog/collaborators/acme", narrow, 404},
		{"GET", "/repos/acme/blog/contents/outstatic/config.json", full, 200},
		{"GET", "/repos/acme/blog/contents/outstatic/content", full, 200},
		{"GET", "/repos/acme/blog/contents/outstatic/missing.json", full, 404},
		{"GET", "/repos/acme/blog/git/trees/main?recursive=1", full, 200},
		{"GET", "/repos/acme/blog/git/trees/no-such-branch", full, 404},
		{"GET", "/repos/acme/blog/installation", app, 200},
		{"GET", "/repos/acme/other/installation", app, 404},
		{"POST", "/app/installations/70/access_tokens", app, 201},
		{"POST", "/app/installations/71/access_tokens", app, 404},
	} {
		if status, body := checkREST(t, router, c.method, api+c.path, c.auth); status != c.want {
			t.Errorf("%s %s: %d, want %d: %.200s", c.method, c.path, status, c.want, body)
		}
	}
	if t.Failed() {
		t.Log(strings.Repeat("-", 20))
	}
}
