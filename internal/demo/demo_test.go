package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// graphQL posts a dashboard query with token to url and decodes the
// reply's data.
func graphQL(t *testing.T, url, token, query string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data   map[string]any
		Errors []any
	}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("GraphQL reply %d: %v %s", res.StatusCode, err, raw)
	}
	return res.StatusCode, out.Data
}

// TestSampleRepoServed: the demo GitHub answers the stock dashboard's own
// queries from the sample repository: its config, one collection, three
// posts that say they are the demo's, the schema with the cover image;
// the image is a PNG, read through the contents API without a token (the
// repository is public there).
func TestSampleRepoServed(t *testing.T) {
	gh := fakegithub.New(ClientID, "secret", User("http://localhost:8080"))
	gh.Repo = SampleRepo()
	gh.Start()
	t.Cleanup(gh.Close)
	docs := fakegithub.DashboardDocuments()
	token := gh.IssueToken("repo", "read:user", "user:email")
	vars := func(path string) map[string]any {
		return map[string]any{"owner": RepoOwner, "name": RepoName, "filePath": path, "contentPath": path}
	}

	_, data := graphQL(t, gh.GraphQLURL(), token, docs["GetRepoInfo"], vars(""))
	if ref, _ := data["repository"].(map[string]any)["defaultBranchRef"].(map[string]any); ref["name"] != "main" {
		t.Fatalf("GetRepoInfo: %v", data)
	}
	text := func(path string) string {
		_, data := graphQL(t, gh.GraphQLURL(), token, docs["File"], vars("main:"+path))
		obj, _ := data["repository"].(map[string]any)["object"].(map[string]any)
		s, _ := obj["text"].(string)
		return s
	}
	var collections []struct{ Slug, Path string }
	if err := json.Unmarshal([]byte(text("outstatic/content/collections.json")), &collections); err != nil ||
		len(collections) != 1 || collections[0].Slug != "posts" || collections[0].Path != "outstatic/content/posts" {
		t.Fatalf("collections.json: %v %+v", err, collections)
	}
	if cfg := text("outstatic/config.json"); !strings.Contains(cfg, `"repoMediaPath": "public/images/"`) {
		t.Fatalf("config.json: %s", cfg)
	}
	if !strings.Contains(text("outstatic/content/posts/schema.json"), `"fieldType": "Image"`) {
		t.Fatal("the posts' schema has no image field")
	}

	_, data = graphQL(t, gh.GraphQLURL(), token, docs["Documents"], vars("main:outstatic/content/posts"))
	entries, _ := data["repository"].(map[string]any)["object"].(map[string]any)["entries"].([]any)
	posts := map[string]string{}
	for _, e := range entries {
		e := e.(map[string]any)
		if name := e["name"].(string); strings.HasSuffix(name, ".md") {
			posts[name], _ = e["object"].(map[string]any)["text"].(string)
		}
	}
	if len(posts) != 3 || !strings.Contains(posts["welcome.md"], "This is a demo repository, demo/sample-blog") ||
		!strings.Contains(posts["welcome.md"], "coverImage: '/images/demo-cover.png'") || !strings.Contains(posts["a-draft.md"], "status: 'draft'") {
		t.Fatalf("the posts: %v", posts)
	}
	if _, ok := posts["edit-me.md"]; !ok {
		t.Fatalf("no post to edit: %v", posts)
	}

	req, _ := http.NewRequest(http.MethodGet, gh.APIURL()+"/repos/"+RepoOwner+"/"+RepoName+"/contents/"+ImagePath, nil)
	req.Header.Set("Accept", "application/vnd.github.raw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	img, err := png.Decode(res.Body)
	if res.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() == 0 {
		t.Fatalf("the image without a token: %d %v", res.StatusCode, err)
	}
	if lib := text("outstatic/media/media.json"); !strings.Contains(lib, `"path": "`+ImagePath+`"`) {
		t.Fatalf("the media library does not list the image: %s", lib)
	}
}

// TestDemoSignsInAtOnce runs the demo without the stock site (Caddy with
// the guard and the relay, in this process, and the demo GitHub) and
// signs in as the dashboard's button does: the guard's start, the relay,
// the demo GitHub, whose authorize answers with the redirect back at once
// (no page to fill in), the relay's callback, and the site's callback
// with an exchange token. The token redeems for the demo user, an owner;
// the session reads the sample repository through the relay's parser.
// The relay's pages carry the demo's banner.
func TestDemoSignsInAtOnce(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	d, err := Start(context.Background(), Options{Port: port, Dir: t.TempDir(), Out: &log, NoSite: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(d.Stop)
	if !strings.Contains(log.String(), "holding the demo repository demo/sample-blog in memory") {
		t.Errorf("the log does not say the repository is the demo's:\n%s", log.String())
	}
	origin := d.Layout.Origin()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// The sign-in page's fetch, as Chromium sends it.
	req, _ := http.NewRequest(http.MethodGet, origin+"/api/outstatic/login", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	res, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var start struct{ URL string }
	_ = json.NewDecoder(res.Body).Decode(&start)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(start.URL, d.Layout.RelayURL()+"/") {
		t.Fatalf("the guard's login start: %d %+v", res.StatusCode, start)
	}

	next, authorized := start.URL, false
	callback := origin + "/outstatic/api/outstatic/callback?exchange_token="
	for range 6 {
		if strings.HasPrefix(next, callback) {
			break
		}
		res, err := browser.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: %d, want a redirect (no page on the way)", next, res.StatusCode)
		}
		if strings.HasPrefix(next, d.Layout.GitHub+"/login/oauth/authorize?") {
			authorized = strings.HasPrefix(res.Header.Get("Location"), d.Layout.RelayURL()+"/outstatic/auth/github/callback?code=")
		}
		next = res.Header.Get("Location")
	}
	token, ok := strings.CutPrefix(next, callback)
	if !ok || !authorized {
		t.Fatalf("the login ended at %s (the demo GitHub answered the authorize with its redirect: %v)", next, authorized)
	}

	// Redeemed as the site does (#5), with the callback it was bound to.
	body, _ := json.Marshal(map[string]string{"exchange_token": mustUnescape(t, token), "callback_url": origin + "/outstatic/api/outstatic/callback"})
	res, err = http.Post(d.Layout.RelayURL()+"/outstatic/auth/exchange-token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var redeemed struct {
		User struct {
			Login       string
			Email       string
			AvatarURL   string `json:"avatar_url"`
			Permissions []string
		}
		Session struct {
			AccessToken string `json:"access_token"`
		}
	}
	_ = json.NewDecoder(res.Body).Decode(&redeemed)
	res.Body.Close()
	// the picture too is on this machine
	if res.StatusCode != http.StatusOK || redeemed.User.Login != Login || redeemed.User.Email != Email || len(redeemed.User.Permissions) != 7 ||
		redeemed.User.AvatarURL != origin+AvatarPath {
		t.Fatalf("exchange-token: %d %+v", res.StatusCode, redeemed.User)
	}

	// The dashboard's first query, through the relay's parser.
	docs := fakegithub.DashboardDocuments()
	q, _ := json.Marshal(map[string]any{"query": docs["GetRepoInfo"], "operationName": "GetRepoInfo",
		"variables": map[string]any{"owner": RepoOwner, "name": RepoName}})
	req, _ = http.NewRequest(http.MethodPost, d.Layout.RelayURL()+"/github/parser", bytes.NewReader(q))
	req.Header.Set("Authorization", "Bearer "+redeemed.Session.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(reply), `"name":"main"`) {
		t.Fatalf("the parser: %d %s", res.StatusCode, reply)
	}

	// The site's root leads to the dashboard.
	res, err = browser.Get(origin + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/outstatic" {
		t.Errorf("GET /: %d %s, want a redirect to /outstatic", res.StatusCode, res.Header.Get("Location"))
	}

	// The relay's own sign-in page, with the banner, its style sheet and
	// script served on the same origin (the pages' CSP allows only that).
	res, err = browser.Get(d.Layout.RelayURL() + "/home/" + RepoOwner + "/" + ProjectSlug + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), BannerText) || !strings.Contains(string(page), `href="`+BannerCSSPath+`"`) {
		t.Fatalf("the relay's sign-in page: %d, banner missing:\n%s", res.StatusCode, page)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("the relay's pages' CSP changed (%q): check that the banner's files are still allowed", csp)
	}
	for path, ctype := range map[string]string{BannerCSSPath: "text/css", BannerJSPath: "text/javascript", AvatarPath: "image/png"} {
		res, err := http.Get(origin + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

func mustUnescape(t *testing.T, s string) string {
	t.Helper()
	v, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWithBanner: the banner's files go before </head>, the banner right
// after <body ...>, in any case; a page without both is left alone.
func TestWithBanner(t *testing.T) {
	got := string(withBanner([]byte(`<!doctype html><HTML><head><title>x</title></HEAD><Body id="outstatic"><main>m</main></body></html>`)))
	want := `<!doctype html><HTML><head><title>x</title>` + string(bannerHead) + `</HEAD><Body id="outstatic">` + string(bannerBody) + `<main>m</main></body></html>`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, page := range []string{"", "<p>no body</p>", "<body>no head</body>", "<body></body><head></head>"} {
		if got := string(withBanner([]byte(page))); got != page {
			t.Errorf("%q became %q", page, got)
		}
	}
}
