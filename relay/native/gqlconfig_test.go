package native

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

const stockConfig = "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\"\n}\n"

// The one config.json change allowed without settings.manage: adding
// mdExtension (md or mdx) to a file that has none, nothing else.
func TestOnlyAddsMDExtension(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	withMD := `{"repoMediaPath":"public/images/","publicMediaPath":"images/","mdExtension":"md"}`
	for name, tc := range map[string]struct {
		current, next string
		ok            bool
	}{
		"md added, keys reordered": {stockConfig, b64(withMD), true},
		"mdx added":                {stockConfig, b64(`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"mdx"}`), true},
		"another key changed":      {stockConfig, b64(`{"publicMediaPath":"media/","repoMediaPath":"public/images/","mdExtension":"md"}`), false},
		"another key added":        {stockConfig, b64(`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"md","x":1}`), false},
		"a key removed":            {stockConfig, b64(`{"publicMediaPath":"images/","mdExtension":"md"}`), false},
		"already set, changed":     {`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"md"}`, b64(`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"mdx"}`), false},
		"already set, unchanged":   {withMD, b64(withMD), false},
		"not added":                {stockConfig, b64(stockConfig), false},
		"odd extension":            {stockConfig, b64(`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"html"}`), false},
		"extension not a string":   {stockConfig, b64(`{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":["md"]}`), false},
		"not base64":               {stockConfig, "{}", false},
		"new not an object":        {stockConfig, b64(`["md"]`), false},
		"current not an object":    {`null`, b64(`{"mdExtension":"md"}`), false},
	} {
		if err := onlyAddsMDExtension([]byte(tc.current), tc.next); (err == nil) != tc.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// commitInput is a createCommitOnBranch input adding files (path →
// content) on main at head.
func commitInput(head string, files ...[2]string) map[string]any {
	var adds []any
	for _, f := range files {
		adds = append(adds, map[string]any{"path": f[0], "contents": base64.StdEncoding.EncodeToString([]byte(f[1]))})
	}
	return map[string]any{"input": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message":         map[string]any{"headline": "Save"},
		"fileChanges":     map[string]any{"additions": adds},
		"expectedHeadOid": head,
	}}
}

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
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.RepoApp = &RepoApp{AppID: 9, PrivateKey: pemKey} })
	env.gh.RegisterApp(9, "relay", &key.PublicKey)
	env.gh.Install(9, 90, "acme/blog")
	access := str(env.emailSession(t, 0, "bob@example.com"), "access_token") // an editor
	docs := dashboardDocs(t)
	commit := func(files ...[2]string) (int, string) {
		t.Helper()
		body := gqlBody(t, "createCommit", docs["createCommit"], commitInput(env.gh.Head("main"), files...))
		req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("X-Project-Id", "blog")
		req.Header.Set("Content-Type", "application/json")
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
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

// The current config.json is read with the call's token at the commit's
// base; when that read fails, the change is refused (fail closed).
func TestConfigReadFailsClosed(t *testing.T) {
	env := newNativeEnv(t, nil)
	p := nativeProject()
	token := env.gh.IssueToken("repo")
	read := env.relays[0].repoFileReader(context.Background(), token, &p)
	if b, err := read("main", "outstatic/config.json"); err != nil || string(b) != stockConfig {
		t.Fatalf("read: %q %v", b, err)
	}
	if _, err := read("main", "outstatic/nope.json"); !errors.Is(err, errConfigRead) {
		t.Fatalf("a missing file: %v", err)
	}
	env.gh.PutFile("main", "outstatic/big.json", strings.Repeat(" ", configMaxBytes+1))
	if _, err := read("main", "outstatic/big.json"); !errors.Is(err, errConfigRead) {
		t.Fatalf("a file too large: %v", err)
	}
	env.gh.RevokeToken(token)
	_, err := read("main", "outstatic/config.json")
	if !errors.Is(err, errConfigRead) {
		t.Fatalf("a revoked token: %v", err)
	}
	body := gqlBody(t, "createCommit", dashboardDocs(t)["createCommit"], commitInput(env.gh.Head("main"),
		[2]string{"outstatic/content/posts/new.md", "# New"},
		[2]string{"outstatic/config.json", `{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"md"}`}))
	v, err := checkGraphQL(body, "acme", "blog")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic", readFile: read}); err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("a failed read: %v", err)
	}
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic"}); err == nil {
		t.Fatal("allowed without a reader")
	}
	// The base must name one commit: no branch name, nothing else.
	v.commit["expectedHeadOid"] = "main"
	ok := func(string, string) ([]byte, error) { return []byte(stockConfig), nil }
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic", readFile: ok}); err == nil {
		t.Fatal("allowed with a base that is not a commit ID")
	}
	v.commit["expectedHeadOid"] = env.gh.Head("main")
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic", readFile: ok}); err != nil {
		t.Fatalf("the same commit on its base: %v", err)
	}
	if err := v.authorize(gqlAccess{role: "admin", ost: "outstatic"}); err != nil {
		t.Fatalf("settings.manage needs no read: %v", err)
	}
}
