//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestRuntimeProjectInBrowser is TestNativeRelayInBrowser with a project
// made while the native relay runs: its Caddyfile has public_url and the
// github block and no project. The operator makes the project with `caddy
// outstatic project create` and its key with `caddy outstatic key create`,
// both against the admin API of the running relay, and gives the stock site
// that key; the site then signs in through the relay and shows Pro.
// Screenshot: testdata/out/dashboard-runtime-project.png.
func TestRuntimeProjectInBrowser(t *testing.T) {
	browserSuite(t, setUp(t, newRuntimeProjectBackend))
}

// runtimeProjectBackend is the native backend with the native relay in a
// Caddy of its own, started before the site's Caddy so that the project
// and the site's key can be made on it first: the guard and the forward
// relay read the key when their Caddy loads its config, as an operator
// sets a new site's key before starting it.
type runtimeProjectBackend struct {
	*nativeBackend
	admin string // the native relay's Caddy's admin API
}

// newRuntimeProjectBackend starts the native relay's Caddy with no project
// block, makes the project and a key with the CLI, and makes that key the
// site's.
func newRuntimeProjectBackend(t *testing.T, s *stack) backend {
	b := &runtimeProjectBackend{nativeBackend: newNativeBackendWith(nativeOptions{runtimeProject: true})(t, s).(*nativeBackend)}
	b.admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	caddyfile := fmt.Sprintf(`{
	admin %s
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
	storage file_system %s
}
%s`, b.admin, t.TempDir(), b.nativeBackend.sites(s))
	if strings.Contains(caddyfile, "project ") {
		t.Fatalf("the native relay's Caddyfile declares a project:\n%s", caddyfile)
	}
	startCaddy(t, s.bin, caddyfile, b.url+"/", s.caddyEnv)

	// Before the project is made, a key cannot even be made for it.
	if status, _ := getJSON(t, b.url+"/outstatic/project", s.key); status != http.StatusUnauthorized {
		t.Fatalf("the native relay took a key before it had a project: %d", status)
	}
	out := caddyCmd(t, s.bin, "outstatic", "project", "create", nativeProject, "--repo", "acme/blog",
		"--origin", s.public+"/outstatic", "--plan", "pro", "--owner", nativeLogin, "--address", b.admin)
	row := regexp.MustCompile(`(?m)^` + nativeProject + `\s+acme/blog\s+pro\s+stored\s+` + regexp.QuoteMeta(s.public+"/outstatic") + `\s`)
	if !row.MatchString(out) {
		t.Fatalf("caddy outstatic project create printed no stored project %s:\n%s", nativeProject, out)
	}
	if list := caddyCmd(t, s.bin, "outstatic", "project", "list", "--address", b.admin); !row.MatchString(list) {
		t.Fatalf("caddy outstatic project list shows no stored project %s:\n%s", nativeProject, list)
	}
	out = caddyCmd(t, s.bin, "outstatic", "key", "create", "--project", nativeProject, "--address", b.admin)
	m := regexp.MustCompile(`key:\s+(ost_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("caddy outstatic key create printed no key:\n%s", out)
	}
	s.key = m[1]
	return b
}

// sites is empty: the native relay runs in its own Caddy.
func (b *runtimeProjectBackend) sites(*stack) string { return "" }

// ready checks that the native relay answers the site's key for the
// project made at run time, Pro, with the project's stored callback origin
// in the extension for guards.
func (b *runtimeProjectBackend) ready(t *testing.T, s *stack) {
	status, body := getJSON(t, b.url+"/outstatic/project", s.key)
	origins, _ := body["callback_origins"].([]any)
	if status != http.StatusOK || body["project_slug"] != nativeProject || body["is_pro"] != true ||
		len(origins) != 1 || origins[0] != s.public+"/outstatic" || body["plan"] != "pro" {
		t.Fatalf("the native relay's key check for the project made at run time: %d %v", status, body)
	}
}

func (b *runtimeProjectBackend) screenshot() string { return "dashboard-runtime-project.png" }
