// Package testredis starts a private redis-server for a test, on a free
// loopback port, and stops it when the test ends.
package testredis

import (
	"bufio"
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
	durable  bool
}

// Start starts a private redis-server on a free loopback port and
// stops it when the test ends. Without redis-server on PATH the test is
// skipped, except under CI, where a skip would hide a missing install.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartDurable is Start with every write appended to disk before it is
// answered (appendonly, fsync always): a server killed and restarted
// (Kill, Restart) comes back with everything it acknowledged, as a
// production Redis with persistence does.
func StartDurable(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, durable bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not on PATH and CI is set: install the Debian package redis-server")
		}
		t.Skip("redis-server is not on PATH (Debian package redis-server)")
	}
	var lastErr error
	// The free port is only free when asked; another process may take it
	// before redis-server binds it, so try a few.
	for range 3 {
		srv, err := launchRedis(t, bin, t.TempDir(), 0, durable)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

// launchRedis starts redis-server on port (a free one if 0) with its
// files in dir.
func launchRedis(t testing.TB, bin, dir string, port int, durable bool) (*Server, error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}

	logPath := filepath.Join(dir, "redis.log")
	appendOnly := []string{"--appendonly", "no"}
	if durable {
		appendOnly = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	cmd := exec.Command(bin, append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--daemonize", "no",
		"--dir", dir, "--logfile", logPath}, appendOnly...)...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{}),
		bin: bin, dir: dir, durable: durable}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(srv.Stop)

	deadline := time.Now().Add(testwait.Bound)
	for {
		if err := ping(srv.Addr); err == nil {
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
// without depending on the client under test.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
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
		if next, err = launchRedis(t, s.bin, s.dir, p, s.durable); err == nil {
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
	c := redis.NewClient(&redis.Options{
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
	})
	t.Cleanup(func() { c.Close() })
	return c
}
