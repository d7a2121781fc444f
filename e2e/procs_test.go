//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
)

// proc is a child process the test started: a Caddy or the stock site,
// in a process group of its own with its output in a log file
// (internal/testproc), stopped when the test ends.
type proc struct{ *testproc.Proc }

// startProc starts a child process and registers its stop with t.Cleanup,
// so it is stopped whatever happens to the test.
func startProc(t *testing.T, name, dir string, env []string, args ...string) *proc {
	t.Helper()
	return &proc{testproc.Start(t, name, dir, env, args...)}
}

// tail returns the last n bytes of the process's output.
func (p *proc) tail(n int) string { return p.Tail(n) }

// waitHTTP polls url, trusting the test CA, until ready accepts a
// response, the process exits, or timeout passes.
func (p *proc) waitHTTP(t *testing.T, url string, timeout time.Duration, ready func(*http.Response) bool) {
	t.Helper()
	p.WaitHTTP(t, url, timeout, clientTLS(), ready)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int { return testproc.FreePort(t) }

// repoRoot is the module's root: the test runs in its package folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: run the test from the e2e folder (go test ./e2e/)", root)
	}
	return root
}

// caddyBuild is the Caddy binary every test of the run shares.
var caddyBuild struct {
	once     sync.Once
	dir, bin string
	err      error
}

// builtCaddy builds Caddy with this plugin once per run, as a user would
// (go build ./cmd/caddy), and returns the binary's path. TestMain removes
// it.
func builtCaddy(t *testing.T, root string) string {
	t.Helper()
	caddyBuild.once.Do(func() {
		caddyBuild.dir, caddyBuild.err = os.MkdirTemp("", "outstatic-e2e-caddy-")
		if caddyBuild.err != nil {
			return
		}
		// a cold build cache takes minutes on two cores
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		bin := filepath.Join(caddyBuild.dir, "caddy")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/caddy")
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			caddyBuild.err = fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, out.String())
			return
		}
		caddyBuild.bin = bin
	})
	if caddyBuild.err != nil {
		t.Fatal(caddyBuild.err)
	}
	return caddyBuild.bin
}

// TestMain removes the Caddy binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if caddyBuild.dir != "" {
		os.RemoveAll(caddyBuild.dir)
	}
	removeCA()
	os.Exit(code)
}

// startCaddy writes the Caddyfile and runs `caddy run` with it. Caddy's
// data and config folders are the test's own, so nothing outside is
// touched; env carries the secrets the Caddyfile's {env.*} placeholders
// name. It returns when Caddy answers on probe.
func startCaddy(t *testing.T, bin, caddyfile, probe string, env []string) *proc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}
	p := startProc(t, "caddy", dir, append(base, env...), bin, "run", "--config", path, "--adapter", "caddyfile")
	p.waitHTTP(t, probe, 20*time.Second, func(*http.Response) bool { return true })
	return p
}

// startSite runs the stock site with `next start` on 127.0.0.1:port and
// only the environment a user would set. The site caches its key check on
// disk, null answers too (FACTS.md §5), so that cache is cleared first.
func startSite(t *testing.T, siteDir string, port int, env map[string]string) *proc {
	t.Helper()
	if _, err := os.Stat(filepath.Join(siteDir, ".next", "BUILD_ID")); err != nil {
		t.Fatalf("the stock site is not built (%v): run bash scripts/e2e.sh, which installs and builds it", err)
	}
	if err := os.RemoveAll(filepath.Join(siteDir, ".next", "cache", "fetch-cache")); err != nil {
		t.Fatal(err)
	}
	vars := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NEXT_TELEMETRY_DISABLED=1"}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	p := startProc(t, "site", siteDir, vars, filepath.Join(siteDir, "node_modules", ".bin", "next"),
		"start", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	p.waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/api/outstatic/user", port), 60*time.Second, func(r *http.Response) bool {
		return r.StatusCode == http.StatusOK && strings.Contains(r.Header.Get("Content-Type"), "json")
	})
	return p
}
