package outstatic

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// The in-process Caddy of these tests listens on ports drawn when the test
// binary starts, so that two test runs on one machine (or anything else on
// the usual 2999 and 9080) cannot meet. Configs and URLs are written with
// the usual numbers and translated by ports.
var testPorts = func() *strings.Replacer {
	admin, http, https := freeLoopbackPort(), freeLoopbackPort(), freeLoopbackPort()
	testAdminPort, testSitePorts = admin, []int{http, https}
	return strings.NewReplacer(
		"localhost:2999", fmt.Sprintf("localhost:%d", admin),
		":9080", fmt.Sprintf(":%d", http),
		"http_port 9080", fmt.Sprintf("http_port %d", http),
		"https_port 9443", fmt.Sprintf("https_port %d", https),
	)
}()

var (
	testAdminPort int
	// testSitePorts are this run's HTTP and HTTPS ports.
	testSitePorts []int
)

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
func newTester(t *testing.T) *settledTester {
	return &settledTester{caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: testAdminPort}), t}
}

// settledTester is a caddytest.Tester whose InitServer returns only once
// the listeners of the configuration before have closed. On Linux Caddy
// binds each configuration's sockets anew with SO_REUSEPORT and closes the
// old ones after a reload has returned; until then the kernel hands some
// new connections to an old socket, and they are reset when it closes (a
// test's first request failed so under load).
type settledTester struct {
	*caddytest.Tester
	t *testing.T
}

// InitServer loads cfg as caddytest does, then waits until no port of this
// run has more than one listening socket.
func (st *settledTester) InitServer(cfg, adapter string) {
	st.t.Helper()
	st.Tester.InitServer(cfg, adapter)
	testwait.Until(st.t, "the previous configuration's listeners close", func() bool {
		for _, port := range testSitePorts {
			if listeningSockets(port) > 1 {
				return false
			}
		}
		return true
	})
}

// listeningSockets counts the TCP sockets listening on port, as Linux lists
// them in /proc/net/tcp and tcp6 (0 where those files do not exist).
func listeningSockets(port int) int {
	local := fmt.Sprintf(":%04X ", port)
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ...; st 0A is LISTEN
			f := strings.Fields(line)
			if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1]+" ", local) {
				n++
			}
		}
	}
	return n
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

// TestListeningSockets checks the count settledTester waits on: one socket
// listening on a port, then none once it is closed.
func TestListeningSockets(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp: settledTester does not wait here")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if n := listeningSockets(port); n != 1 {
		t.Errorf("one listener on %d, counted %d", port, n)
	}
	l.Close()
	if n := listeningSockets(port); n != 0 {
		t.Errorf("no listener on %d, counted %d", port, n)
	}
}
