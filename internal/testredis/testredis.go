// Package testredis starts private redis-server processes for a test, on
// free loopback ports, and stops them when the test ends: one server
// (optionally with ACL users or TLS, with a CA and certificates made in the
// test), a master with a replica watched by three sentinels, or a
// three-master Redis Cluster.
package testredis

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once

	bin, dir string // for Restart: the same binary and data directory
	logPath  string
	durable  bool
	opt      options
}

// Option changes how a server is started.
type Option func(*options)

type options struct {
	args []string
	// tls: the server listens with TLS only, with this certificate.
	tls *Cert
	// auth: the user and password that ping logs in with.
	user, password string
}

// WithArgs adds redis-server command-line options ("--maxmemory", "1mb").
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// WithACL turns the default user off and adds user with password, allowed
// every command and key: a client must log in as user.
func WithACL(user, password string) Option {
	return func(o *options) {
		o.user, o.password = user, password
	}
}

// WithTLS makes the server listen with TLS only (no plain port), with
// cert; clients are not asked for certificates.
func WithTLS(cert *Cert) Option {
	return func(o *options) { o.tls = cert }
}

// Start starts a private redis-server on a free loopback port and
// stops it when the test ends. Without redis-server on PATH the test is
// skipped, except under CI, where a skip would hide a missing install.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return start(t, false, opts...)
}

// StartDurable is Start with every write appended to disk before it is
// answered (appendonly, fsync always): a server killed and restarted
// (Kill, Restart) comes back with everything it acknowledged, as a
// production Redis with persistence does.
func StartDurable(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, durable bool, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	bin := serverBinary(t)
	var lastErr error
	// The free port is only free when asked; another process may take it
	// before redis-server binds it, so try a few.
	for range 3 {
		srv, err := launchRedis(t, bin, t.TempDir(), 0, durable, o)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

// serverBinary finds redis-server. Without it the test is skipped, except
// under CI, where a skip would hide a missing install.
func serverBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not on PATH and CI is set: install the Debian package redis-server")
		}
		t.Skip("redis-server is not on PATH (Debian package redis-server)")
	}
	return bin
}

// freePort returns a loopback port that was free when asked.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launchRedis starts redis-server on port (a free one if 0) with its
// files in dir.
func launchRedis(t testing.TB, bin, dir string, port int, durable bool, o options) (*Server, error) {
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}

	logPath := filepath.Join(dir, "redis.log")
	appendOnly := []string{"--appendonly", "no"}
	if durable {
		appendOnly = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	listen := []string{"--port", strconv.Itoa(port)}
	if o.tls != nil {
		listen = []string{"--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", o.tls.CertFile, "--tls-key-file", o.tls.KeyFile,
			"--tls-ca-cert-file", o.tls.CA.File, "--tls-auth-clients", "no"}
	}
	args := append(listen, "--bind", "127.0.0.1",
		"--save", "", "--daemonize", "no",
		"--dir", dir, "--logfile", logPath)
	args = append(args, appendOnly...)
	if o.user != "" {
		acl := filepath.Join(dir, "users.acl")
		text := "user default off\nuser " + o.user + " on >" + o.password + " ~* &* +@all\n"
		if err := os.WriteFile(acl, []byte(text), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--aclfile", acl)
	}
	args = append(args, o.args...)
	srv, err := runServer(t, bin, args, port, dir, logPath, o)
	if err != nil {
		return nil, err
	}
	srv.durable = durable
	return srv, nil
}

// runServer starts bin with args, expecting it to answer PING on port,
// and stops it when the test ends.
func runServer(t testing.TB, bin string, args []string, port int, dir, logPath string, o options) (*Server, error) {
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{}),
		bin: bin, dir: dir, logPath: logPath, opt: o}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(srv.Stop)

	deadline := time.Now().Add(testwait.Bound)
	for {
		if err := ping(srv.Addr, srv.opt); err == nil {
			return srv, nil
		}
		select {
		case <-srv.exited:
			log, _ := os.ReadFile(logPath)
			return nil, errors.New("redis-server exited: " + string(log))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.Stop()
			return nil, fmt.Errorf("redis-server did not answer PING within %v", testwait.Bound)
		}
	}
}

// ping speaks just enough of the protocol to learn the server is up,
// without depending on the client under test: over TLS for a TLS server,
// logged in as the ACL user if there is one.
func ping(addr string, o options) error {
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	var (
		conn net.Conn
		err  error
	)
	if o.tls != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: o.tls.CA.Pool(), ServerName: o.tls.Names[0]})
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	cmd := "PING\r\n"
	if o.user != "" {
		cmd = "AUTH " + o.user + " " + o.password + "\r\n" + cmd
	}
	if _, err := conn.Write([]byte(cmd)); err != nil {
		return err
	}
	rd := bufio.NewReader(conn)
	if o.user != "" {
		if line, err := rd.ReadString('\n'); err != nil || line != "+OK\r\n" {
			return errors.New("AUTH answered " + strconv.Quote(line))
		}
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("unexpected answer " + strconv.Quote(line))
	}
	return nil
}

// Freeze stops the process without ending it (SIGSTOP): its socket still
// accepts connections that are never answered, as a hung server's would.
// The test's end resumes it before stopping it.
func (s *Server) Freeze(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Signal(syscall.SIGCONT) })
}

// Log returns the server's log file, for a test's failure message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Resume continues a frozen server (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// Stop kills the server and waits for it; safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// Kill ends the server at once (SIGKILL), as a crash would, and waits for
// it to be gone; Restart brings it back.
func (s *Server) Kill() { s.Stop() }

// Restart starts the killed server again on the same port with the same
// data directory (a StartDurable server keeps its data) and waits until it
// answers. The Server is then the new process.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	_, port, _ := net.SplitHostPort(s.Addr)
	p, _ := strconv.Atoi(port)
	var (
		next *Server
		err  error
	)
	// The port was just released; another process could take it, but
	// on loopback in a test that is rare enough to retry briefly.
	for range 20 {
		if next, err = launchRedis(t, s.bin, s.dir, p, s.durable, s.opt); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restarting redis-server on %s: %v", s.Addr, err)
	}
	s.cmd, s.exited, s.once = next.cmd, next.exited, sync.Once{}
}

// Client builds a client whose every call gives up quickly when the
// server is gone or hung, so a test fails instead of hanging.
func Client(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(quickOptions(addr))
	t.Cleanup(func() { c.Close() })
	return c
}

// Client is the package's Client for s, logged in as its ACL user and over
// TLS (trusting its CA) when it has them.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(s.clientOptions())
	t.Cleanup(func() { c.Close() })
	return c
}

// clientOptions are quickOptions for s, logged in and over TLS as s needs.
func (s *Server) clientOptions() *redis.Options {
	o := quickOptions(s.Addr)
	o.Username, o.Password = s.opt.user, s.opt.password
	if s.opt.tls != nil {
		o.TLSConfig = &tls.Config{RootCAs: s.opt.tls.CA.Pool(), ServerName: s.opt.tls.Names[0]}
	}
	return o
}

// quickOptions give up quickly when the server is gone or hung.
func quickOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:         addr,
		DialTimeout:  300 * time.Millisecond,
		ReadTimeout:  300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond,
		PoolTimeout:  2 * time.Second,
		MaxRetries:   1,
		// One dial a call: a refused connection is an answer, not a blip.
		DialerRetries: 1,
		// Plain Redis has no maintenance notifications to offer.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}
