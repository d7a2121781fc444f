package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
)

// fakeAdmin answers every key change with a new key, counting the calls;
// it listens on every interface, so that it can be reached by a
// non-loopback address of this machine too.
func fakeAdmin(t *testing.T) (port string, calls *atomic.Int32) {
	t.Helper()
	calls = new(atomic.Int32)
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode(adminapi.KeyReply{Project: "blog", Key: "ost_secretkeyvalue", Prefix: "ost_secr"})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), calls
}

// nonLoopbackIP is an address of this machine that is not loopback, or "".
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

func runKey(args ...string) (string, error) {
	var out bytes.Buffer
	c := keyCommand()
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), err
}

func TestKeyCreateOnlyOverLoopback(t *testing.T) {
	port, calls := fakeAdmin(t)
	out, err := runKey("create", "--project", "blog", "--address", "127.0.0.1:"+port)
	if err != nil || !strings.Contains(out, "ost_secretkeyvalue") {
		t.Fatalf("over loopback: %v %q", err, out)
	}
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback address on this machine")
	}
	calls.Store(0)
	for _, action := range []string{"create", "rotate"} {
		out, err := runKey(action, "--project", "blog", "--address", net.JoinHostPort(ip, port))
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || strings.Contains(out, "ost_secretkeyvalue") {
			t.Fatalf("%s over %s: %v %q", action, ip, err, out)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the admin API was called %d times over a non-loopback address", n)
	}
	// A revoke answers no key: it may go anywhere the operator says.
	if _, err := runKey("revoke", "--project", "blog", "--address", net.JoinHostPort(ip, port)); err != nil || calls.Load() != 1 {
		t.Fatalf("revoke: %v, %d calls", err, calls.Load())
	}
}

func TestCheckLocalAdmin(t *testing.T) {
	for addr, ok := range map[string]bool{
		"localhost:2019":             true,
		"127.0.0.1:2019":             true,
		"127.8.9.1:2019":             true,
		"[::1]:2019":                 true,
		"unix//run/caddy/admin.sock": true,
		"tcp/127.0.0.1:2019":         true,
		"10.0.0.5:2019":              false,
		"[fd00::2]:2019":             false,
		"0.0.0.0:2019":               true, // a connection to it stays on this machine
		":2019":                      true,
		"[::]:2019":                  true,
		"caddy.internal:2019":        false,
		"127.0.0.1.nip.io:2019":      false,
		"localhost.example.com:2019": false,
		"[::ffff:10.0.0.1]:2019":     false,
	} {
		if err := checkLocalAdmin(addr); (err == nil) != ok {
			t.Errorf("%s: %v, want ok %v", addr, err, ok)
		}
	}
}
