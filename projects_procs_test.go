package outstatic

import (
	"encoding/json"
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

	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// TestProjectsAcrossProcesses runs the built Caddy twice, two native
// relays on one file store: a project made with `caddy outstatic project
// create` on one is served by the other, with no reload, and by a relay
// started again; a taken slug, a slug with '/' or "..", an origin with
// another path or a query and a delete of the Caddyfile's project are
// refused with a clear error and leave the store's projects as they
// were; deleted on the second, its key stops working on the first; and
// `caddy outstatic audit` shows each change once, with no key or secret
// in the audit log, the logs or the store.
func TestProjectsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs caddy")
	}
	bin := caddyBinary(t)
	gh := adaGitHub()
	gh.Start()
	t.Cleanup(gh.Close)
	_, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	storage := t.TempDir()
	secret := strings.Repeat("s", 40)
	type relayProc struct {
		proc         *testproc.Proc
		url, address string
	}
	start := func(name string) relayProc {
		t.Helper()
		port, admin := freeLoopbackPort(), freeLoopbackPort()
		u := fmt.Sprintf("http://127.0.0.1:%d", port)
		cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
	storage file_system %s
}
%s {
	%s
}
`, admin, storage, u, blogRelay(u, "http://blog.localhost/outstatic", hash, gh))
		p := runCaddyfile(t, bin, name, cfg, "TEST_GH_SECRET=relay-secret", "TEST_RELAY_SECRET="+secret)
		p.WaitHTTP(t, u+"/outstatic/project", testwait.Bound, nil, nil)
		return relayProc{proc: p, url: u, address: fmt.Sprintf("127.0.0.1:%d", admin)}
	}
	cli := func(on relayProc, stdin string, args ...string) (string, error) {
		t.Helper()
		c := exec.Command(bin, append(append([]string{"outstatic"}, args...), "--address", on.address)...)
		c.Env = testproc.BaseEnv(t.TempDir())
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	keyCheck := func(on relayProc, key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, on.url+"/outstatic/project", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	projectsRecord := func() string {
		b, _ := os.ReadFile(filepath.Join(storage, "outstatic", "projects"))
		return string(b)
	}

	a, b := start("relay-a"), start("relay-b")
	out, err := cli(a, "", "project", "create", "docs", "--repo", "acme/docs", "--origin", "http://docs.localhost/outstatic", "--owner", "ada")
	if err != nil || !strings.Contains(out, "docs") || !strings.Contains(out, "stored") {
		t.Fatalf("project create: %v\n%s", err, out)
	}
	out, err = cli(a, "", "key", "create", "--project", "docs")
	key := regexp.MustCompile(`(?m)^key:\s+(\S+)$`).FindStringSubmatch(out)
	if err != nil || key == nil {
		t.Fatalf("key create: %v\n%s", err, out)
	}
	testwait.Until(t, "the other relay serves the project made on the first", func() bool {
		status, body := keyCheck(b, key[1])
		return status == 200 && strings.Contains(body, `"project_slug":"docs"`) && strings.Contains(body, "http://docs.localhost/outstatic")
	})
	if out, err := cli(b, "", "project", "list"); err != nil || !strings.Contains(out, "blog") || !strings.Contains(out, "docs") {
		t.Fatalf("project list on the other relay: %v\n%s", err, out)
	}

	before := projectsRecord()
	if !strings.Contains(before, `"docs"`) {
		t.Fatalf("the stored projects' record is not where the test reads it: %q", before)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"project", "create", "docs", "--repo", "acme/docs", "--origin", "http://docs.localhost/outstatic"}, "exists already"},
		{[]string{"project", "create", "a/b", "--repo", "acme/docs", "--origin", "http://docs.localhost/outstatic"}, "slug"},
		{[]string{"project", "create", "..", "--repo", "acme/docs", "--origin", "http://docs.localhost/outstatic"}, "slug"},
		{[]string{"project", "create", "wiki", "--repo", "acme/wiki", "--origin", "http://wiki.localhost/admin"}, "outstatic"},
		{[]string{"project", "create", "wiki", "--repo", "acme/wiki", "--origin", "http://wiki.localhost/outstatic?x=1"}, "wiki"},
		{[]string{"project", "delete", "blog", "--yes"}, "Caddyfile"},
		{[]string{"project", "create", "blog", "--repo", "acme/blog", "--origin", "http://blog.localhost/outstatic"}, "Caddyfile"},
	} {
		out, err := cli(b, "", c.args...)
		if err == nil || !strings.Contains(out, c.says) {
			t.Errorf("%v: %v, want a refusal saying %q:\n%s", c.args, err, c.says, out)
		}
		if after := projectsRecord(); after != before {
			t.Fatalf("%v changed the stored projects:\n%s\nwere\n%s", c.args, after, before)
		}
	}
	if out, err := cli(b, "not-docs\n", "project", "delete", "docs"); err == nil || !strings.Contains(out, "not deleted") {
		t.Fatalf("a delete confirmed with the wrong slug: %v\n%s", err, out)
	}

	// restarted, a relay still serves the stored project
	a.proc.Stop()
	a = start("relay-a-again")
	if status, _ := keyCheck(a, key[1]); status != 200 {
		t.Fatalf("the stored project after a restart: %d", status)
	}
	if out, err := cli(b, "docs\n", "project", "delete", "docs"); err != nil || !strings.Contains(out, "deleted project docs") {
		t.Fatalf("project delete: %v\n%s", err, out)
	}
	testwait.Until(t, "the first relay refuses the deleted project's key", func() bool {
		status, _ := keyCheck(a, key[1])
		return status == 401
	})

	out, err = cli(a, "", "audit", "--project", "docs", "--json")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	count := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Kind string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		count[e.Kind]++
	}
	for _, kind := range []string{"project-created", "member-added", "key-created", "project-deleted"} {
		if count[kind] != 1 {
			t.Errorf("%s appears %d times in the audit log: %v", kind, count[kind], count)
		}
	}
	if out, err := cli(a, "", "audit", "--since", "1h"); err != nil || !strings.Contains(out, "change-refused") || !strings.Contains(out, "(operator)") {
		t.Fatalf("audit table: %v\n%s", err, out)
	}
	secrets := []string{key[1], secret, "relay-secret"}
	var stored strings.Builder
	_ = filepath.Walk(storage, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.Contains(path, "auditlog") {
			data, _ := os.ReadFile(path)
			stored.Write(data)
		}
		return nil
	})
	if stored.Len() == 0 {
		t.Fatal("no audit records in the store")
	}
	for _, s := range secrets {
		for where, text := range map[string]string{"relay a's log": a.proc.Output(), "relay b's log": b.proc.Output(),
			"the audit records": stored.String(), "the audit command": out} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a secret", where)
			}
		}
	}
}
