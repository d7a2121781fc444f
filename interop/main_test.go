// Package interop tests the relay against real, independent
// implementations of the protocols it speaks: Ory Hydra (OpenID
// Certified) for its OpenID Connect login and Mailpit for the SMTP that
// carries magic links and invitations. Both are tool dependencies of this
// module (go.mod's tool lines), so the plugin's go.mod gains nothing; the
// tests build them, and the relay's Caddy, into toolcache.Dir and run
// them on loopback only. bash scripts/interop.sh runs the package.
package interop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/toolcache"
)

// TestMain starts the builds at once, one after the other, in the order
// the tests need them (every test needs Caddy; the mail tests come
// first): on two cores, builds side by side only fight for them. A test
// waits for a build still under way, or starts the one it needs.
func TestMain(m *testing.M) {
	if root, err := filepath.Abs(".."); err == nil {
		go func() {
			for _, tool := range []toolcache.Tool{toolcache.Caddy, toolcache.Mailpit, toolcache.Hydra} {
				_, _ = toolcache.Build(root, tool)
			}
		}()
	}
	os.Exit(m.Run())
}

// built returns tool's binary, built from this repository.
func built(t *testing.T, tool toolcache.Tool) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := toolcache.Build(root, tool)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
