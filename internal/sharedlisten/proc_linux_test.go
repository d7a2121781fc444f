package sharedlisten

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// reusePort listens on addr with SO_REUSEPORT, as Caddy does.
func reusePort(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

// TestMain lets the test binary be the other process: with
// SHAREDLISTEN_HELPER=addr it listens there with SO_REUSEPORT, says
// "listening", and holds the socket until its standard input closes.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SHAREDLISTEN_HELPER"); addr != "" {
		l, err := reusePort(addr)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("listening")
		_, _ = io.Copy(io.Discard, os.Stdin)
		l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFindsAnotherProcessOnTheSameAddress: this process listens on a
// loopback port with SO_REUSEPORT; a second socket of its own on the same
// address is no finding; another process binding it the same way is, with
// its pid; a port only the other process holds is not this process's
// concern.
func TestFindsAnotherProcessOnTheSameAddress(t *testing.T) {
	l, err := reusePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	own, err := reusePort(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	for _, s := range mustFind(t) {
		if s.Addr == addr {
			t.Fatalf("two sockets of this process reported as shared: %+v", s)
		}
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHAREDLISTEN_HELPER="+addr)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "listening" {
		t.Fatalf("the other process: %q", line)
	}
	var found []Shared
	for _, s := range mustFind(t) {
		if s.Addr == addr {
			found = append(found, s)
		}
	}
	if len(found) != 1 || found[0].PID != cmd.Process.Pid || found[0].UID != os.Getuid() || found[0].Port != l.Addr().(*net.TCPAddr).Port {
		t.Fatalf("want the other process (pid %d) on %s, found %+v", cmd.Process.Pid, addr, found)
	}
}

func mustFind(t *testing.T) []Shared {
	t.Helper()
	listening, s, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if len(listening) == 0 {
		t.Fatal("this process listens on no port, it says")
	}
	return s
}

// TestParseAddr reads the kernel's hex forms of IPv4 and IPv6 addresses.
func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:07E3":                         "0.0.0.0:2019",
		"00000000000000000000000001000000:0050": "[::1]:80",
		"0000000000000000FFFF00000100007F:0050": "127.0.0.1:80",
	} {
		got, err := parseAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz:1F90", "0100007F:zz", "01007F:1F90"} {
		if _, err := parseAddr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
