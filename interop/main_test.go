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

// TestMain starts every build at once (they share two cores, but a link
// waits on one while another compiles), so each test waits only for
// what is still building when it needs it.
func TestMain(m *testing.M) {
	if root, err := filepath.Abs(".."); err == nil {
		for _, tool := range []toolcache.Tool{toolcache.Caddy, toolcache.Hydra, toolcache.Mailpit} {
			go func() { _, _ = toolcache.Build(root, tool) }()
		}
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
