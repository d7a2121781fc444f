package gqlpolicy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
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

// When the read of the current config.json fails, the change is refused
// (fail closed); the base must name one commit.
func TestConfigReadFailsClosed(t *testing.T) {
	head := strings.Repeat("ab", 20)
	failed := func(string, string) ([]byte, error) { return nil, errors.New("github answered 401") }
	body := gqlBody(t, "createCommit", dashboardDocs(t)["createCommit"], fakegithub.CommitInput(head,
		[2]string{"outstatic/content/posts/new.md", "# New"},
		[2]string{"outstatic/config.json", `{"publicMediaPath":"images/","repoMediaPath":"public/images/","mdExtension":"md"}`}))
	v, err := Check(body, blog)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Authorize(Access{Role: "author", ReadFile: failed}); err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("a failed read: %v", err)
	}
	if err := v.Authorize(Access{Role: "author"}); err == nil {
		t.Fatal("allowed without a reader")
	}
	// The base must name one commit: no branch name, nothing else.
	v.commit["expectedHeadOid"] = "main"
	ok := func(string, string) ([]byte, error) { return []byte(stockConfig), nil }
	if err := v.Authorize(Access{Role: "author", ReadFile: ok}); err == nil {
		t.Fatal("allowed with a base that is not a commit ID")
	}
	v.commit["expectedHeadOid"] = head
	if err := v.Authorize(Access{Role: "author", ReadFile: ok}); err != nil {
		t.Fatalf("the same commit on its base: %v", err)
	}
	if err := v.Authorize(Access{Role: "admin"}); err != nil {
		t.Fatalf("settings.manage needs no read: %v", err)
	}
}
