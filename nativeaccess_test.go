package outstatic

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// accessEnv is a native relay in Caddy with a GitHub App, against a fake
// GitHub, and the built caddy binary for `caddy outstatic member`.
type accessEnv struct {
	t        *testing.T
	gh       *fakegithub.Server
	client   *http.Client
	base     string
	callback string
	bin      string
	docs     map[string]string
}

func newAccessEnv(t *testing.T) *accessEnv {
	gh := adaGitHub()
	gh.Start()
	t.Cleanup(gh.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	gh.RegisterApp(4242, "outstatic-relay", &key.PublicKey)
	gh.Install(4242, 77, "acme/blog")
	pemPath := filepath.Join(t.TempDir(), "app.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(pemPath, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	docs := fakegithub.DashboardDocuments()
	gh.PutFile("main", "public/images/a.png", "\x89PNG\r\n\x1a\n")
	startNativeRelay(t, gh, t.TempDir(), "", fmt.Sprintf(`github_app {
				app_id 4242
				private_key {file.%s}
			}`, pemPath))
	return &accessEnv{t: t, gh: gh, docs: docs, bin: caddyBinary(t),
		client:   &http.Client{Transport: caddytest.CreateTestingTransport()},
		base:     ports("http://relay.localhost:9080"),
		callback: ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")}
}

// call sends a request to the relay and decodes a JSON answer.
func (e *accessEnv) call(method, path, auth string, body any) (int, string) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// member runs `caddy outstatic member` with the built binary.
func (e *accessEnv) member(wantOK bool, args ...string) string {
	e.t.Helper()
	out, err := exec.Command(e.bin, append([]string{"outstatic", "member"}, append(args, "--address", ports("localhost:2999"))...)...).CombinedOutput()
	if (err == nil) != wantOK {
		e.t.Fatalf("caddy outstatic member %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// admin calls the admin API's member routes.
func (e *accessEnv) admin(action string, body map[string]string) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", ports("http://localhost:2999")+"/outstatic/members/blog/"+action, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// emailSession logs in a verified e-mail address as a Google or e-mail
// provider would (no GitHub token) and returns the session's tokens.
func (e *accessEnv) emailSession(email string) (access, refresh string) {
	e.t.Helper()
	n, _ := nativeFor(context.Background(), "blog")
	xt, err := n.CompleteVerifiedLogin(context.Background(), "blog", e.callback, email, "")
	if err != nil {
		e.t.Fatalf("login of %s: %v", email, err)
	}
	status, body := e.call("POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": xt, "callback_url": e.callback})
	var out struct {
		User    map[string]any `json:"user"`
		Session map[string]any `json:"session"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil || out.User["email"] != email {
		e.t.Fatalf("exchange-token: %d %s", status, body)
	}
	a, _ := out.Session["access_token"].(string)
	r, _ := out.Session["refresh_token"].(string)
	return a, r
}

// commit saves paths through the parser as the dashboard does.
func (e *accessEnv) commit(access, headline string, paths ...string) (int, string) {
	e.t.Helper()
	var adds []map[string]string
	for _, p := range paths {
		adds = append(adds, map[string]string{"path": p, "contents": base64.StdEncoding.EncodeToString([]byte("# " + headline + "\n"))})
	}
	input := map[string]any{
		"branch":          map[string]string{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message":         map[string]string{"headline": headline},
		"fileChanges":     map[string]any{"additions": adds},
		"expectedHeadOid": e.gh.Head("main"),
	}
	return e.call("POST", "/github/parser", access, map[string]any{
		"query": e.docs["createCommit"], "variables": map[string]any{"input": input}, "operationName": "createCommit"})
}

func (e *accessEnv) read(access string) (int, string) {
	e.t.Helper()
	return e.call("POST", "/github/parser", access, map[string]any{
		"query": e.docs["GetRepoInfo"], "variables": map[string]string{"owner": "acme", "name": "blog"}, "operationName": "GetRepoInfo"})
}

// TestNativeAccessInCaddy: repository access through the GitHub App for a
// session without a GitHub token, roles enforced by the relay, and members
// kept in the store, managed with `caddy outstatic member` and the admin
// API, through a real Caddy and the built binary.
func TestNativeAccessInCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy")
	}
	e := newAccessEnv(t)

	// Members through the CLI; the Caddyfile's are read-only.
	if out := e.member(true, "add", "Grace@Example.com", "--role", "author", "--project", "blog"); !strings.Contains(out, "grace@example.com is author of blog") {
		t.Fatalf("add: %s", out)
	}
	if out := e.member(false, "add", "ada", "--role", "author", "--project", "blog"); !strings.Contains(out, "Caddyfile") {
		t.Fatalf("changing a Caddyfile member: %s", out)
	}
	e.member(false, "add", "bob@example.com", "--role", "boss", "--project", "blog")
	list := e.member(true, "list")
	for _, want := range []string{"ada  ", "owner", "config", "grace@example.com", "author", "store", "cli:"} {
		if !strings.Contains(list, want) {
			t.Fatalf("list lacks %q:\n%s", want, list)
		}
	}

	// An e-mail session (no GitHub token) reads and writes with the
	// App's installation token.
	access, refresh := e.emailSession("grace@example.com")
	if status, body := e.read(access); status != 200 || !strings.Contains(body, `"id":"R_`) {
		t.Fatalf("read through the app: %d %s", status, body)
	}
	if e.gh.InstallationTokensMinted(77) != 1 {
		t.Fatalf("installation tokens minted: %d", e.gh.InstallationTokensMinted(77))
	}
	status, body := e.call("GET", "/outstatic/media/acme/blog/main/public/images/a.png", access, nil)
	if status != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("media through the app: %d %q", status, body)
	}
	if status, body := e.commit(access, "Add a post", "outstatic/content/posts/new-post.md"); status != 200 || !strings.Contains(body, `"oid"`) {
		t.Fatalf("author saving a document: %d %s", status, body)
	}
	if _, ok := e.gh.File("main", "outstatic/content/posts/new-post.md"); !ok {
		t.Fatal("the document is not in the repository")
	}
	msg, _ := e.gh.HeadMessage("main")
	if msg != "Add a post\n\nCo-authored-by: grace@example.com <grace@example.com>" {
		t.Fatalf("commit message %q", msg)
	}

	// An author may not change a collection.
	status, body = e.commit(access, "New collection", "outstatic/content/collections.json", "outstatic/content/recipes/schema.json")
	if status != 403 || strings.TrimSpace(body) != `{"error":"forbidden-operation"}` {
		t.Fatalf("author changing collections: %d %s", status, body)
	}
	// An editor may; lowered back to author, the same session may not, at once.
	e.member(true, "role", "grace@example.com", "--role", "editor", "--project", "blog")
	if status, body := e.commit(access, "Schema", "outstatic/content/posts/schema.json"); status != 200 {
		t.Fatalf("editor changing a schema: %d %s", status, body)
	}
	if status, body := e.admin("role", map[string]string{"who": "grace@example.com", "role": "author", "by": "test"}); status != 200 {
		t.Fatalf("admin role: %d %s", status, body)
	}
	if status, _ := e.commit(access, "Schema again", "outstatic/content/posts/schema.json"); status != 403 {
		t.Fatalf("lowered to author, a schema change: %d", status)
	}
	if status, _ := e.commit(access, "Settings", "outstatic/config.json"); status != 403 {
		t.Fatalf("author changing settings: %d", status)
	}

	// Invitations: listed, revocable, and consumed by the first login.
	out := e.member(true, "invite", "lin@example.com", "--role", "editor", "--project", "blog")
	if !strings.Contains(out, "nothing was sent") || !strings.Contains(out, ports("http://blog.localhost:9080/outstatic")) {
		t.Fatalf("invite without a mailer: %s", out)
	}
	if list := e.member(true, "list", "--project", "blog"); !strings.Contains(list, "lin@example.com") || !strings.Contains(list, "invited") {
		t.Fatalf("pending invitation not listed:\n%s", list)
	}
	e.member(true, "revoke-invite", "lin@example.com", "--project", "blog")
	if list := e.member(true, "list"); strings.Contains(list, "lin@example.com") {
		t.Fatalf("revoked invitation still listed:\n%s", list)
	}
	if n, _ := nativeFor(context.Background(), "blog"); n == nil {
		t.Fatal("no relay serves blog")
	} else if _, err := n.CompleteVerifiedLogin(context.Background(), "blog", e.callback, "lin@example.com", ""); err == nil {
		t.Fatal("a revoked invitation let lin in")
	}
	if status, body := e.admin("invite", map[string]string{"email": "Lin@Example.com", "role": "editor", "by": "test"}); status != 200 || !strings.Contains(body, `"sent":false`) {
		t.Fatalf("admin invite: %d %s", status, body)
	}
	linAccess, _ := e.emailSession("lin@example.com")
	if status, _ := e.commit(linAccess, "Lin's schema", "outstatic/content/posts/schema.json"); status != 200 {
		t.Fatalf("invited editor: %d", status)
	}
	if list := e.member(true, "list"); !strings.Contains(list, "lin@example.com") || strings.Contains(list, "invited") {
		t.Fatalf("after the login, lin is not a stored member, or still invited:\n%s", list)
	}

	// Removing a member ends their session at the next parser call and refresh.
	e.member(true, "remove", "grace@example.com", "--project", "blog")
	if status, body := e.read(access); status != 401 || !strings.Contains(body, "Bad credentials") {
		t.Fatalf("removed member's parser call: %d %s", status, body)
	}
	if status, body := e.call("POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": refresh}); status != 401 || !strings.Contains(body, "not-collaborator") {
		t.Fatalf("removed member's refresh: %d %s", status, body)
	}
	e.member(false, "remove", "grace@example.com", "--project", "blog")

	// Every change is in the log, with who made it.
	logOut := e.member(true, "log", "--project", "blog")
	for _, want := range []string{"added grace@example.com as author", "role of grace@example.com: author → editor", "test", "invited lin@example.com as editor",
		"revoked the invitation of lin@example.com", "accepted the invitation", "removed grace@example.com (author)"} {
		if !strings.Contains(logOut, want) {
			t.Fatalf("log lacks %q:\n%s", want, logOut)
		}
	}
}
