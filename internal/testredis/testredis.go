// Package testredis starts a private redis-server for a test, on a free
// loopback port, and stops it when the test ends.
package testredis

import (
	"bufio"
	"errors"
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
)

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// Start starts a private redis-server on a free loopback port and
// stops it when the test ends. Without redis-server on PATH the test is
// skipped, except under CI, where a skip would hide a missing install.
func Start(t testing.TB) *Server {
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
		srv, err := launchRedis(t, bin)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func launchRedis(t testing.TB, bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	dir := t.TempDir()
	logPath := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", dir, "--logfile", logPath)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(srv.Stop)

	deadline := time.Now().Add(5 * time.Second)
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
			return nil, errors.New("redis-server did not answer PING within 5s")
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
func (s *Server) Freeze(t *testing.T) {
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
