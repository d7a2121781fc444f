package native

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy"
)

// An editor's first save in a repository whose config.json has no
// mdExtension goes through the real parser, the App's token and the fake
// GitHub: the relay reads the current config.json from the branch and lets
// the dashboard's commit add mdExtension alongside the document; any other
// settings change, or config.json without a document, is refused.
func TestNativeEditorSaveAddsMDExtension(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.RepoApp = &github.App{AppID: 9, PrivateKey: pemKey} })
	env.gh.RegisterApp(9, "relay", &key.PublicKey)
	env.gh.Install(9, 90, "acme/blog")
	access := str(env.emailSession(t, 0, "bob@example.com"), "access_token") // an editor
	docs := dashboardDocs(t)
	commit := func(files ...[2]string) (int, string) {
		t.Helper()
		body := gqlBody(t, "createCommit", docs["createCommit"], fakegithub.CommitInput(env.gh.Head("main"), files...))
		return env.parserWith(t, 0, access, string(body))
	}
	doc := [2]string{"outstatic/content/posts/new.md", "# New"}
	cfg := func(s string) [2]string { return [2]string{"outstatic/config.json", s} }
	withMD := "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\",\n  \"mdExtension\": \"md\"\n}\n"
	refused := []struct {
		name  string
		files [][2]string
	}{
		{"another key changed", [][2]string{doc, cfg(`{"publicMediaPath":"media/","repoMediaPath":"public/images/","mdExtension":"md"}`)}},
		{"config.json without a document", [][2]string{cfg(withMD)}},
		{"config.json with a non-document", [][2]string{{"outstatic/content/metadata.json", "{}"}, cfg(withMD)}},
	}
	for _, tc := range refused {
		if status, body := commit(tc.files...); status != 403 || body != `{"error":"forbidden-operation"}` {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
		if text, _ := env.gh.File("main", "outstatic/config.json"); text != stockConfig {
			t.Fatalf("%s: config.json changed to %q", tc.name, text)
		}
	}
	if status, body := commit(doc, cfg(withMD)); status != 200 || strings.Contains(body, `"errors"`) {
		t.Fatalf("the first save: %d %s", status, body)
	}
	if text, _ := env.gh.File("main", "outstatic/config.json"); text != withMD {
		t.Fatalf("config.json: %q", text)
	}
	if text, ok := env.gh.File("main", doc[0]); !ok || text != doc[1] {
		t.Fatalf("the document did not land: %q %v", text, ok)
	}
	// Now that it is set, mdExtension is a setting like any other.
	if status, _ := commit(doc, cfg(strings.Replace(withMD, `"md"`, `"mdx"`, 1))); status != 403 {
		t.Fatalf("mdExtension changed by an editor: %d", status)
	}
}

// The current config.json is read with the call's token, bounded, and
// every failure to read it is an error.
func TestConfigRead(t *testing.T) {
	env := newNativeEnv(t, nil)
	p := nativeProject()
	token := env.gh.IssueToken("repo")
	read := env.relays[0].repoFileReader(context.Background(), token, &p.Project)
	if b, err := read("main", "outstatic/config.json"); err != nil || string(b) != stockConfig {
		t.Fatalf("read: %q %v", b, err)
	}
	if _, err := read("main", "outstatic/nope.json"); err == nil {
		t.Fatalf("a missing file: %v", err)
	}
	env.gh.PutFile("main", "outstatic/big.json", strings.Repeat(" ", gqlpolicy.ConfigMaxBytes+1))
	if _, err := read("main", "outstatic/big.json"); err == nil {
		t.Fatalf("a file too large: %v", err)
	}
	env.gh.RevokeToken(token)
	_, err := read("main", "outstatic/config.json")
	if err == nil {
		t.Fatalf("a revoked token: %v", err)
	}
}
