package outstatic

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// The in-process Caddy of these tests listens on ports drawn when the test
// binary starts, so that two test runs on one machine (or anything else on
// the usual 2999 and 9080) cannot meet. Configs and URLs are written with
// the usual numbers and translated by ports.
var testPorts = func() *strings.Replacer {
	admin, http, https := freeLoopbackPort(), freeLoopbackPort(), freeLoopbackPort()
	testAdminPort = admin
	return strings.NewReplacer(
		"localhost:2999", fmt.Sprintf("localhost:%d", admin),
		":9080", fmt.Sprintf(":%d", http),
		"http_port 9080", fmt.Sprintf("http_port %d", http),
		"https_port 9443", fmt.Sprintf("https_port %d", https),
	)
}()

var testAdminPort int

// freeLoopbackPort is a TCP port on 127.0.0.1 free at the time of asking.
func freeLoopbackPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ports rewrites the usual test ports in s to this run's.
func ports(s string) string { return testPorts.Replace(s) }

// newTester is caddytest.NewTester on this run's admin port.
func newTester(t *testing.T) *caddytest.Tester {
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: testAdminPort})
}

// caddyStorage makes a storage folder for in-process Caddy, named with
// prefix, removed best effort when the test ends: Caddy's storage cleaner
// may still write to it after the test, which t.TempDir's strict cleanup
// would report.
func caddyStorage(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
