//go:build e2e

package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// The native relay's GitHub OAuth app and the user who signs in at the
// fake GitHub, a member (owner) of the project.
const (
	nativeClientID = "Iv1.e2e0native0app"
	nativeLogin    = "octocat"
	nativeEmail    = "octocat@example.com"
	nativeProject  = "blog"
)

// nativeBackend is the chain the site uses in production: the forward
// relay (the site's OUTSTATIC_API_URL) in front of a relay in native mode,
// standing in for outstatic.com, in the same Caddy on an origin of its
// own. The native relay logs users in with its own OAuth app on a fake
// GitHub, which also answers the dashboard's GraphQL from a small
// repository.
type nativeBackend struct {
	opts      nativeOptions
	gh        *fakegithub.Server
	url       string // the native relay's origin: its public_url, the forward relay's upstream
	keyHash   string // the SHA-256 of the site's key, declared in the project
	accessLog string // the native relay's access log, which count reads
	appKey    string // the fake GitHub App's private key file, if any
}

// newNativeBackend starts the fake GitHub and makes the site's key with
// `caddy outstatic key generate`. The key is declared in the project by
// its hash (key_sha256), so the forward relay and the guard, which take it
// from the environment when the config loads, can be given it before Caddy
// starts; the admin API's key path is exercised in ready.
func newNativeBackend(t *testing.T, s *stack) backend {
	b := &nativeBackend{accessLog: filepath.Join(t.TempDir(), "native-access.json")}
	b.url = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	secret := randomString(24)
	b.gh = fakegithub.New(nativeClientID, secret, fakegithub.User{
		Login: nativeLogin, Name: "The Octocat", ID: 583231,
		Emails: []fakegithub.Email{{Email: nativeEmail, Primary: true, Verified: true}},
	})
	// As registered with GitHub: a redirect_uri elsewhere is refused.
	b.gh.CallbackURL = b.url + "/outstatic/auth/github/callback"
	b.gh.Start()
	t.Cleanup(b.gh.Close)

	out := caddyCmd(t, s.bin, "outstatic", "key", "generate")
	m := regexp.MustCompile(`key:\s+(ost_\S+)\s+key_sha256:\s+([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("caddy outstatic key generate printed no key and hash:\n%s", out)
	}
	s.key, b.keyHash = m[1], m[2]
	s.caddyEnv = append(s.caddyEnv, "OUTSTATIC_E2E_GITHUB_SECRET="+secret,
		"OUTSTATIC_E2E_RELAY_SECRET="+randomString(40))
	return b
}

// nativeOptions change the native relay's configuration for one test.
type nativeOptions struct {
	// sessionTTL is the native relay's session_ttl, the access token's
	// lifetime; the relay's default (1h) when zero.
	sessionTTL time.Duration
	// refreshTTL is the native relay's refresh_ttl, a login's lifetime;
	// the relay's default (30 days) when zero.
	refreshTTL time.Duration
	// members are more member lines of the project, e.g. "a@b.c editor".
	members []string
	// blocks are more subdirectives of the native relay (its oidc and
	// email blocks), as Caddyfile text.
	blocks string
	// aiBaseURL, if set, is the base_url of the native relay's ai block
	// (an OpenAI-compatible endpoint the test starts).
	aiBaseURL string
	// githubApp registers a GitHub App in the fake GitHub, installs it on
	// acme/blog and gives the native relay its github_app block (the
	// private key as a {file.*} placeholder), for sessions without a
	// GitHub token.
	githubApp bool
	// noGitHubLogin leaves the OAuth app out of the native relay's github
	// block (its URLs alone): the relay offers no GitHub login.
	noGitHubLogin bool
	// guardLearns leaves callback_origin out of the guard: it takes the
	// project's callback origins from the key check, which the native
	// relay answers with them and the forward relay passes on.
	guardLearns bool
	// runtimeProject leaves the project block out of the native relay's
	// site: the project is made at run time (runtimeproject_test.go).
	runtimeProject bool
}

// learnsOrigins says whether the stack's guard has no callback_origin.
func (b *nativeBackend) learnsOrigins() bool { return b.opts.guardLearns }

// e2eAppID is the fake GitHub App's id.
const e2eAppID = 4242

// appKeyFile registers and installs the fake GitHub's App and returns the
// path of its private key, PEM.
func (b *nativeBackend) appKeyFile(t *testing.T) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b.gh.RegisterApp(e2eAppID, "outstatic-relay", &key.PublicKey)
	b.gh.Install(e2eAppID, 77, "acme/blog")
	path := filepath.Join(t.TempDir(), "app.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newNativeBackendWith is newNativeBackend with opts.
func newNativeBackendWith(opts nativeOptions) func(*testing.T, *stack) backend {
	return func(t *testing.T, s *stack) backend {
		b := newNativeBackend(t, s).(*nativeBackend)
		b.opts = opts
		if opts.githubApp {
			b.appKey = b.appKeyFile(t)
		}
		return b
	}
}

// extraConfig is the native relay's subdirectives that opts set.
func (b *nativeBackend) extraConfig() string {
	var lines []string
	if b.opts.sessionTTL > 0 {
		lines = append(lines, "session_ttl "+b.opts.sessionTTL.String())
	}
	if b.opts.refreshTTL > 0 {
		lines = append(lines, "refresh_ttl "+b.opts.refreshTTL.String())
	}
	if b.opts.blocks != "" {
		lines = append(lines, b.opts.blocks)
	}
	if b.appKey != "" {
		lines = append(lines, fmt.Sprintf("github_app {\n\t\t\tapp_id %d\n\t\t\tprivate_key {file.%s}\n\t\t}", e2eAppID, b.appKey))
	}
	if b.opts.aiBaseURL != "" {
		lines = append(lines, "ai {\n\t\t\tbase_url "+b.opts.aiBaseURL+"\n\t\t\tmodel e2e-model\n\t\t}")
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n\t\t" + strings.Join(lines, "\n\t\t")
}

// extraMembers is the project's member lines that opts add.
func (b *nativeBackend) extraMembers() string {
	var lines string
	for _, m := range b.opts.members {
		lines += "\n\t\t\tmember " + m
	}
	return lines
}

func (b *nativeBackend) relayConfig(s *stack) string {
	return fmt.Sprintf(`upstream %s
		api_key {env.OUTSTATIC_E2E_KEY}
		callback_origin %s/outstatic
		app_origin http://localhost:%d`, b.url, s.public, s.sitePort)
}

// sites is the native relay's site block. Its access log is how the test
// counts the calls that reach the service.
func (b *nativeBackend) sites(s *stack) string {
	project := fmt.Sprintf(`
		project %s {
			callback_origin %s/outstatic
			repo acme/blog
			plan pro
			member %s owner%s
			key_sha256 %s
		}`, nativeProject, s.public, nativeLogin, b.extraMembers(), b.keyHash)
	if b.opts.runtimeProject {
		project = ""
	}
	return fmt.Sprintf(`
# the service: a relay in native mode, standing in for outstatic.com
%[1]s {
	log {
		output file %[2]s
		format json
	}
	outstatic_relay {
		public_url %[1]s%[3]s
		github {%[4]s
			base_url %[5]s
			api_url %[6]s
			graphql_url %[7]s
		}
		secret {env.OUTSTATIC_E2E_RELAY_SECRET}%[8]s
	}
}
`, b.url, b.accessLog, project, b.oauthApp(),
		b.gh.URL(), b.gh.APIURL(), b.gh.GraphQLURL(), b.extraConfig())
}

// oauthApp is the github block's OAuth app lines, none with noGitHubLogin.
func (b *nativeBackend) oauthApp() string {
	if b.opts.noGitHubLogin {
		return ""
	}
	return fmt.Sprintf(`
			client_id %s
			client_secret {env.OUTSTATIC_E2E_GITHUB_SECRET}`, nativeClientID)
}

func (b *nativeBackend) guardService(s *stack) string { return s.relay }

// ready makes a key through the admin API, as an operator would, and
// checks what it can do: the native relay takes it, the forward relay,
// which passes on only its configured keys, does not. It runs before any
// login because a stored key starts a new key generation for the project,
// which ends the sessions minted before it.
func (b *nativeBackend) ready(t *testing.T, s *stack) {
	out := caddyCmd(t, s.bin, "outstatic", "key", "create", "--project", nativeProject, "--address", s.admin())
	m := regexp.MustCompile(`key:\s+(ost_\S+)\s+prefix:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("caddy outstatic key create printed no key:\n%s", out)
	}
	created, prefix := m[1], m[2]
	list := caddyCmd(t, s.bin, "outstatic", "key", "list", "--address", s.admin())
	if !regexp.MustCompile(`(?m)^`+nativeProject+`\s+`+regexp.QuoteMeta(prefix)).MatchString(list) || strings.Contains(list, created) {
		t.Fatalf("caddy outstatic key list shows no %s row with prefix %s, or the whole key:\n%s", nativeProject, prefix, list)
	}
	for _, key := range []string{created, s.key} {
		status, body := getJSON(t, b.url+"/outstatic/project", key)
		if status != http.StatusOK || body["project_slug"] != nativeProject || body["is_pro"] != true {
			t.Fatalf("the native relay's key check (key %s…): %d %v", key[:8], status, body)
		}
	}
	if status, body := getJSON(t, s.relay+"/outstatic/project", created); status != http.StatusUnauthorized {
		t.Fatalf("the forward relay passed a key it was not given: %d %v", status, body)
	}
	// The key check the site reads carries the extension for guards
	// (docs/protocol-extensions.md), from the native relay and as the
	// forward relay passes it on (once its first check is in): the stock
	// site must not mind it.
	extended := func(base string) bool {
		status, body := getJSON(t, base+"/outstatic/project", s.key)
		origins, _ := body["callback_origins"].([]any)
		return status == http.StatusOK && len(origins) == 1 && origins[0] == s.public+"/outstatic" && body["plan"] == "pro"
	}
	if !extended(b.url) {
		t.Fatal("the native relay's key check has no callback_origins and plan")
	}
	testwait.Until(t, "the forward relay's key check passes callback_origins and plan on", func() bool { return extended(s.relay) })
}

// mint logs in for real in a Go client, through the guard, both relays
// and the fake GitHub, and stops where a browser would open the callback:
// what an attacker who sends a victim their own login link holds.
func (b *nativeBackend) mint(t *testing.T, s *stack) string {
	client := localClient()
	// as the attacker's own browser sends it from the sign-in page: the
	// guard binds only logins the site's page starts
	req, err := http.NewRequest(http.MethodGet, s.public+"/api/outstatic/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var start struct{ URL string }
	err = json.NewDecoder(res.Body).Decode(&start)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || !strings.HasPrefix(start.URL, b.url+"/") {
		t.Fatalf("starting a login: %d %v %+v", res.StatusCode, err, start)
	}
	next := start.URL
	for range 5 {
		if token, ok := strings.CutPrefix(next, s.callback()+"?exchange_token="); ok {
			return token
		}
		res, err := client.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: %d, want a redirect", next, res.StatusCode)
		}
		next = res.Header.Get("Location")
	}
	t.Fatalf("the login did not come back to %s: last %s", s.callback(), next)
	return ""
}

// count reads the native relay's access log. Caddy writes an entry as the
// handler returns, which for these small answers is before the caller has
// the response, so a call the test waited for is there.
func (b *nativeBackend) count(t *testing.T, endpoint string) int {
	f, err := os.Open(b.accessLog)
	if err != nil {
		t.Fatalf("the native relay's access log: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct{ Request struct{ URI string } }
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			if p, _, _ := strings.Cut(e.Request.URI, "?"); p == endpoint {
				n++
			}
		}
	}
	return n
}

func (b *nativeBackend) graphQL() []graphQLCall {
	var out []graphQLCall
	for _, r := range b.gh.Requests() {
		if r.GraphQL == nil || r.Method != http.MethodPost {
			continue
		}
		scheme, token, _ := strings.Cut(r.Authorization, " ")
		if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
			token = ""
		}
		out = append(out, graphQLCall{Token: token, Operation: r.GraphQL.OperationName})
	}
	return out
}

// githubToken is the GitHub token of the one login so far: the native
// relay keeps it sealed in the session and sends it to GitHub itself.
// Along the way it checks the login at GitHub was the relay's own OAuth
// web flow with PKCE (S256) and the scopes the dashboard needs.
func (b *nativeBackend) githubToken(t *testing.T, accessToken string) string {
	tokens := b.gh.Tokens()
	if len(tokens) != 1 || tokens[0].ClientID != nativeClientID || tokens[0].Login != nativeLogin {
		t.Fatalf("the fake GitHub issued %+v, want one token to %s for %s", tokens, nativeClientID, nativeLogin)
	}
	tok := tokens[0].Value
	if !strings.HasPrefix(tok, "gho_") || tok == accessToken || strings.Contains(accessToken, tok) {
		t.Fatalf("GitHub token %q, session access token %q: want a gho_ token the browser never holds", tok, accessToken)
	}
	var authorize, exchange *fakegithub.Recorded
	users := 0
	for _, r := range b.gh.Requests() {
		switch r.Path {
		case "/login/oauth/authorize":
			authorize = &r
		case "/login/oauth/access_token":
			exchange = &r
		case "/api/v3/user", "/api/v3/user/emails":
			if strings.HasSuffix(r.Authorization, " "+tok) {
				users++
			}
		}
	}
	if authorize == nil || authorize.Query.Get("client_id") != nativeClientID ||
		authorize.Query.Get("redirect_uri") != b.url+"/outstatic/auth/github/callback" ||
		authorize.Query.Get("code_challenge_method") != "S256" || authorize.Query.Get("state") == "" ||
		!strings.Contains(" "+authorize.Query.Get("scope")+" ", " repo ") {
		t.Errorf("authorize at the fake GitHub: %+v", authorize)
	}
	if exchange == nil || exchange.Form.Get("code_verifier") == "" || exchange.Form.Get("client_id") != nativeClientID {
		t.Errorf("the code exchange at the fake GitHub had no PKCE verifier or another client: %+v", exchange)
	}
	if users != 2 {
		t.Errorf("the relay read /user and /user/emails %d times with the user's token, want 2", users)
	}
	return tok
}

func (b *nativeBackend) email() string { return nativeEmail }

func (b *nativeBackend) projectID() string { return nativeProject }

func (b *nativeBackend) screenshot() string { return "dashboard.png" }

func (b *nativeBackend) hops() []string {
	return []string{b.url + "/outstatic/auth/github/start?", b.gh.URL() + "/login/oauth/authorize?",
		b.url + "/outstatic/auth/github/callback?"}
}

// caddyCmd runs the built Caddy with args, in an environment of its own,
// and returns its output.
func caddyCmd(t *testing.T, bin string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("caddy %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
