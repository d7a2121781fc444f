package outstatic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/runas"
)

// TestUnwritableStorageSaysWhoAndWhere: a native relay whose file storage
// cannot be written fails to load, naming the folder, the user Caddy runs
// as, and the fix; the same relay on a writable folder loads and leaves
// no probe behind.
func TestUnwritableStorageSaysWhoAndWhere(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-folder")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OUTSTATIC_TEST_SECRET", strings.Repeat("x", 40))
	site := func(storage string) string {
		// No skip_install_trust: it adds the pki app, which, provisioned
		// first, would fail on the same storage before the relay does.
		return strings.Replace(validateOnly(storage), "\tskip_install_trust\n", "", 1) + `
http://relay.localhost:9 {
	outstatic_relay {
		public_url http://relay.localhost:9
		github {
			client_id relay-client
			client_secret {env.OUTSTATIC_TEST_SECRET}
		}
		project blog {
			repo acme/blog
			callback_origin http://localhost:9/outstatic
			member ada owner
		}
	}
}
`
	}
	storage := filepath.Join(blocker, "caddy")
	err := validateCaddyfile(t, site(storage))
	for _, want := range []string{
		"cannot write the relay's state in " + filepath.Join(storage, "outstatic") + " as " + runas.User(),
		"chown -R " + runas.Name() + " " + storage,
		"storage file_system <folder>",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant it to contain %q", err, want)
		}
	}

	ok := filepath.Join(dir, "caddy")
	if err := validateCaddyfile(t, site(ok)); err != nil {
		t.Fatalf("writable storage: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(ok, "outstatic", ".write-probe-*"))
	if len(left) != 0 {
		t.Errorf("probe files left: %v", left)
	}
}
