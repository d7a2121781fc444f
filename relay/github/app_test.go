package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

const (
	appID  = 4711
	instID = 99
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	keyOnce sync.Once
	keyA    *rsa.PrivateKey
	keyB    *rsa.PrivateKey
)

func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if keyA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

func pemOf(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// setup runs a fake GitHub serving the private acme/blog, with the App
// installed on repos, on a fake clock shared with the token source.
func setup(t *testing.T, repos ...string) (*fakegithub.Server, *clock) {
	t.Helper()
	a, _ := keys(t)
	c := &clock{t: time.Now().Truncate(time.Second)}
	gh := fakegithub.New("Iv1.x", "secret", fakegithub.User{Login: "acme", ID: 1})
	gh.Now = c.now
	gh.Start()
	t.Cleanup(gh.Close)
	gh.RegisterApp(appID, "outstatic-relay", &a.PublicKey)
	gh.Install(appID, instID, repos...)
	return gh, c
}

func source(t *testing.T, gh *fakegithub.Server, c *clock, key *rsa.PrivateKey, installationID int64) *TokenSource {
	t.Helper()
	ts, err := NewTokenSource(AppConfig{AppID: appID, PrivateKey: pemOf(key), InstallationID: installationID,
		Owner: "acme", Repo: "blog", APIURL: gh.APIURL(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestTokenMintedCachedRenewed(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	a, _ := keys(t)
	ts := source(t, gh, c, a, 0) // installation found from the repository
	ctx := context.Background()

	tok, exp, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "ghs_") || !exp.Equal(c.now().Add(time.Hour)) {
		t.Fatalf("token %q expires %v", tok, exp)
	}
	if id, _ := ts.InstallationID(ctx); id != instID {
		t.Fatalf("installation %d", id)
	}

	c.add(50 * time.Minute)
	again, _, err := ts.Token(ctx)
	if err != nil || again != tok || gh.InstallationTokensMinted(instID) != 1 {
		t.Fatalf("not cached: %q vs %q, minted %d, %v", again, tok, gh.InstallationTokensMinted(instID), err)
	}

	c.add(6 * time.Minute) // 4 minutes left: inside RenewBefore
	renewed, exp2, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == tok || gh.InstallationTokensMinted(instID) != 2 || !exp2.After(exp) {
		t.Fatalf("not renewed: %q, minted %d", renewed, gh.InstallationTokensMinted(instID))
	}
	lookups := 0
	for _, r := range gh.Requests() {
		if strings.HasSuffix(r.Path, "/installation") {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("installation looked up %d times", lookups)
	}
}

func TestConcurrentCallersShareOneMint(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	a, _ := keys(t)
	ts := source(t, gh, c, a, instID)
	var wg sync.WaitGroup
	toks := make([]string, 20)
	for i := range toks {
		wg.Go(func() {
			tok, _, err := ts.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		})
	}
	wg.Wait()
	if n := gh.InstallationTokensMinted(instID); n != 1 {
		t.Fatalf("minted %d", n)
	}
	for _, tok := range toks {
		if tok != toks[0] {
			t.Fatal("callers got different tokens")
		}
	}
}

func TestWrongKeyRefused(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	_, b := keys(t)
	ts := source(t, gh, c, b, instID)
	_, _, err := ts.Token(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("err %v", err)
	}
	if gh.InstallationTokensMinted(instID) != 0 {
		t.Fatal("minted with the wrong key")
	}
}

func TestNotInstalled(t *testing.T) {
	gh, c := setup(t, "acme/other")
	a, _ := keys(t)
	ts := source(t, gh, c, a, 0)
	_, _, err := ts.Token(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("err %v", err)
	}
}

func TestTransportReachesRepository(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	a, _ := keys(t)
	ts := source(t, gh, c, a, instID)
	client := &http.Client{Transport: ts.Transport(nil)}

	if st := repoStatus(t, client, gh); st != http.StatusOK {
		t.Fatalf("REST: %d", st)
	}

	q := `{"query":"query { repository(owner: \"acme\", name: \"blog\") { id defaultBranchRef { name } } }"}`
	resp, err := client.Post(gh.GraphQLURL(), "application/json", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"main"`) {
		t.Fatalf("GraphQL: %d %s", resp.StatusCode, body)
	}

	// A revoked token is answered 401 once, and the next request mints anew.
	tok, _, _ := ts.Token(context.Background())
	gh.RevokeToken(tok)
	if st := repoStatus(t, client, gh); st != http.StatusUnauthorized {
		t.Fatalf("revoked: %d", st)
	}
	if st := repoStatus(t, client, gh); st != http.StatusOK || gh.InstallationTokensMinted(instID) != 2 {
		t.Fatalf("after revoke: %d, minted %d", st, gh.InstallationTokensMinted(instID))
	}
}

// repoStatus is the status of GET /repos/acme/blog through client.
func repoStatus(t *testing.T, client *http.Client, gh *fakegithub.Server) int {
	t.Helper()
	resp, err := client.Get(gh.APIURL() + "/repos/acme/blog")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTokenRefusedForOtherRepositories(t *testing.T) {
	// Installed on acme/other only: the private acme/blog the fake serves
	// does not exist for this token, as on GitHub.
	// A token asked for acme/blog alone is not minted at all (422, as
	// GitHub answers), so no call reaches the repository.
	gh, c := setup(t, "acme/other")
	a, _ := keys(t)
	ts := source(t, gh, c, a, instID)
	if tok, _, err := ts.Token(context.Background()); err == nil || !Refused(err) {
		t.Fatalf("minted %q for a repository the installation lacks: %v", tok, err)
	}
	// Unscoped, a token of the installation still finds no acme/blog.
	other, err := NewTokenSource(AppConfig{AppID: appID, PrivateKey: pemOf(a), InstallationID: instID, APIURL: gh.APIURL(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if st := repoStatus(t, &http.Client{Transport: other.Transport(nil)}, gh); st != http.StatusNotFound {
		t.Fatalf("REST: %d", st)
	}
}

// An installation on several repositories (one on a whole account, or
// one installation_id given for every project) mints, for a project,
// tokens that reach its repository alone.
func TestTokenScopedToTheRepository(t *testing.T) {
	gh, c := setup(t, "acme/blog", "acme/other")
	a, _ := keys(t)
	for _, id := range []int64{instID, 0} {
		ts, err := NewTokenSource(AppConfig{AppID: appID, PrivateKey: pemOf(a), InstallationID: id,
			Owner: "acme", Repo: "other", APIURL: gh.APIURL(), Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		if id == 0 {
			// Found from acme/other's installation, which also covers acme/blog.
			if _, err := ts.InstallationID(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		client := &http.Client{Transport: ts.Transport(nil)}
		if st := repoStatus(t, client, gh); st != http.StatusNotFound {
			t.Errorf("installation %d: acme/other's token reads acme/blog: %d", id, st)
		}
	}
	// The project's own repository stays reachable.
	ts := source(t, gh, c, a, instID)
	if st := repoStatus(t, &http.Client{Transport: ts.Transport(nil)}, gh); st != http.StatusOK {
		t.Fatalf("acme/blog's own token: %d", st)
	}
}

func TestNewTokenSourceValidates(t *testing.T) {
	a, _ := keys(t)
	good := pemOf(a)
	for name, cfg := range map[string]AppConfig{
		"no app id":        {PrivateKey: good, InstallationID: 1},
		"bad key":          {AppID: 1, PrivateKey: []byte("nope"), InstallationID: 1},
		"no installation":  {AppID: 1, PrivateKey: good},
		"repo with slash":  {AppID: 1, PrivateKey: good, Owner: "acme", Repo: "blog/../x"},
		"bad api url":      {AppID: 1, PrivateKey: good, InstallationID: 1, APIURL: "api.github.com"},
		"negative install": {AppID: 1, PrivateKey: good, InstallationID: -1},
	} {
		if _, err := NewTokenSource(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestInvalidateMintsAnew(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	a, _ := keys(t)
	ts := source(t, gh, c, a, instID)
	first, _, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts.Invalidate()
	second, _, err := ts.Token(context.Background())
	if err != nil || second == first || gh.InstallationTokensMinted(instID) != 2 {
		t.Fatalf("%q %q %v minted %d", first, second, err, gh.InstallationTokensMinted(instID))
	}
}

func TestCancelledCallerReturns(t *testing.T) {
	gh, c := setup(t, "acme/blog")
	a, _ := keys(t)
	ts := source(t, gh, c, a, instID)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ts.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
