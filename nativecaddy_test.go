package outstatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

var (
	builtCaddy     string
	buildCaddyOnce sync.Once
	buildCaddyErr  error
)

// caddyBinary builds ./cmd/caddy once per test run.
func caddyBinary(t *testing.T) string {
	t.Helper()
	buildCaddyOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			buildCaddyErr = err
			return
		}
		builtCaddy = filepath.Join(dir, "caddy")
		out, err := exec.Command("go", "build", "-o", builtCaddy, "./cmd/caddy").CombinedOutput()
		if err != nil {
			buildCaddyErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildCaddyErr != nil {
		t.Fatal(buildCaddyErr)
	}
	return builtCaddy
}

// TestNativeRelayInCaddy runs the native relay in real Caddy: keys made and
// rotated with `caddy outstatic key` through the admin API, and the whole
// GitHub relay hop against a fake GitHub.
func TestNativeRelayInCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy")
	}
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	storage := t.TempDir()
	startNativeRelay(t, gh, storage, "", "")

	bin := caddyBinary(t)
	keyCmd := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"outstatic", "key"}, append(args, "--address", ports("localhost:2999"))...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("caddy outstatic key %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	keyRe := regexp.MustCompile(`key:\s+(ost_[A-Za-z0-9_-]+)`)
	created := keyCmd("create", "--project", "blog")
	m := keyRe.FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("no key in %q", created)
	}
	key := m[1]
	if list := keyCmd("list"); !strings.Contains(list, "blog") || !strings.Contains(list, key[:12]) || strings.Contains(list, key) {
		t.Fatalf("list shows %q", list)
	}

	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path, auth string, body any) (int, map[string]any) {
		t.Helper()
		status, b := postJSON(t, client, ports("http://relay.localhost:9080")+path, auth, body)
		var out map[string]any
		_ = json.NewDecoder(bytes.NewReader(b)).Decode(&out)
		return status, out
	}
	follow := func(u string) string {
		t.Helper()
		// the fake GitHub is not behind Caddy: dial it directly
		c := client
		if strings.HasPrefix(u, gh.URL()) {
			c = &http.Client{CheckRedirect: client.CheckRedirect}
		}
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.Header.Get("Location")
	}

	callback := ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")
	status, out := post("/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
	if status != 200 {
		t.Fatalf("github-exchange: %d %v", status, out)
	}
	authorize := follow(out["url"].(string))
	back := follow(authorize)
	final := follow(back)
	if !strings.HasPrefix(final, callback+"?exchange_token=xt_") {
		t.Fatalf("the hop ended at %q", final)
	}
	token := strings.TrimPrefix(final, callback+"?exchange_token=")
	status, out = post("/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": callback})
	if status != 200 || out["user"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	if status, _ = post("/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": callback}); status != 400 {
		t.Fatalf("replayed token: %d", status)
	}

	// rotation: the old key fails at once
	rotated := keyRe.FindStringSubmatch(keyCmd("rotate", "--project", "blog"))
	if rotated == nil || rotated[1] == key {
		t.Fatal("rotate printed no new key")
	}
	if status, _ = post("/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback}); status != 401 {
		t.Fatalf("old key after rotation: %d", status)
	}
	if status, _ = post("/outstatic/auth/github-exchange", rotated[1], map[string]string{"callback_url": callback}); status != 200 {
		t.Fatalf("new key: %d", status)
	}
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "caddy-outstatic-bin-") }

// TestMain removes the caddy binary the tests built, and searches what
// the in-process Caddy logged for the suite's secrets (secrets_test.go).
func TestMain(m *testing.M) {
	finish, err := teeStderr()
	if err != nil {
		fmt.Println("capturing stderr:", err)
		os.Exit(1)
	}
	code := m.Run()
	logged := finish()
	if leaks := leakedSecrets(logged, suiteSecrets); len(leaks) > 0 {
		fmt.Printf("FAIL: %d log lines hold a secret:\n%s\n", len(leaks), strings.Join(leaks, "\n"))
		code = 1
	} else {
		fmt.Printf("searched %d bytes of Caddy's log for %d secrets: none\n", len(logged), len(suiteSecrets))
	}
	if builtCaddy != "" {
		os.RemoveAll(filepath.Dir(builtCaddy))
	}
	os.Exit(code)
}
