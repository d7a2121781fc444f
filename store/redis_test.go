package store

import (
	"bufio"
	"context"
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

// redisServer is a redis-server process owned by one test.
type redisServer struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// startRedis starts a private redis-server on a free loopback port and
// stops it when the test ends. Without redis-server on PATH the test is
// skipped, except under CI, where a skip would hide a missing install.
func startRedis(t *testing.T) *redisServer {
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

func launchRedis(t *testing.T, bin string) (*redisServer, error) {
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
	srv := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(srv.stop)

	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := ping(srv.addr); err == nil {
			return srv, nil
		}
		select {
		case <-srv.exited:
			log, _ := os.ReadFile(logPath)
			return nil, errors.New("redis-server exited: " + string(log))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.stop()
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

// stop kills the server and waits for it; safe to call more than once.
func (s *redisServer) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// newRedisClient builds a client whose every call gives up quickly when the
// server is gone or hung, so a test fails instead of hanging.
func newRedisClient(t *testing.T, addr string) *redis.Client {
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

// Each instance gets its own client to one server, as two relays would. A
// server per subtest keeps their keys apart.
func redisBackend(t *testing.T) backend {
	srv := startRedis(t)
	return func(prefix string) Store {
		return NewRedis(newRedisClient(t, srv.addr), prefix)
	}
}

func TestRedisConformance(t *testing.T) {
	runConformance(t, redisBackend)
}

func TestRedisLayout(t *testing.T) {
	srv := startRedis(t)
	raw := newRedisClient(t, srv.addr)
	s := NewRedis(newRedisClient(t, srv.addr), testPrefix)
	ctx := context.Background()
	mustPut(t, s, "tokens/abc", "payload", 1500*time.Microsecond+time.Minute)
	if v, err := raw.Get(ctx, "outstatic:tokens/abc").Result(); err != nil || v != "payload" {
		t.Fatalf("raw GET = %q, %v; want the bare value under <prefix>:<key>", v, err)
	}
	pttl, err := raw.PTTL(ctx, "outstatic:tokens/abc").Result()
	if err != nil || pttl <= 59*time.Second || pttl > time.Minute+2*time.Millisecond {
		t.Fatalf("PTTL = %v, %v; want about a minute", pttl, err)
	}
	mustPut(t, s, "secret", "s", 0)
	if pttl, err := raw.PTTL(ctx, "outstatic:secret").Result(); err != nil || pttl != -1 {
		t.Fatalf("PTTL of a key put with ttl 0 = %v, %v; want -1 (no expiry)", pttl, err)
	}
	// A key outside the store's prefix is not the store's.
	if err := raw.Set(ctx, "outstaticx:keys/a", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	wantList(t, s, "", "secret", "tokens/abc")
}

func TestRedisTTL(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 0},
		{time.Nanosecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{2 * time.Minute, 2 * time.Minute},
	} {
		if got := redisTTL(tc.in); got != tc.want {
			t.Errorf("redisTTL(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	if got, want := escapeGlob(`a*b?c[d]e\f^g:h/i`), `a\*b\?c\[d\]e\\f\^g:h/i`; got != want {
		t.Fatalf("escapeGlob = %q, want %q", got, want)
	}
}

// When Redis dies or hangs, every call fails within the client's timeouts,
// even with a context that never ends.
func TestRedisDown(t *testing.T) {
	for _, how := range []string{"killed", "hung"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			srv := startRedis(t)
			s := NewRedis(newRedisClient(t, srv.addr), testPrefix)
			mustPut(t, s, "tokens/t", "v", time.Minute)
			wantValue(t, s, "tokens/t", "v")
			if how == "killed" {
				srv.stop()
			} else {
				// A stopped process still has its socket: connections are
				// accepted by the kernel and never answered.
				if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = srv.cmd.Process.Signal(syscall.SIGCONT) })
			}

			ctx := context.Background()
			calls := map[string]func() error{
				"Put":    func() error { return s.Put(ctx, "k", []byte("v"), 0) },
				"PutNew": func() error { return s.PutNew(ctx, "k", []byte("v"), 0) },
				"Get":    func() error { _, err := s.Get(ctx, "tokens/t"); return err },
				"Take":   func() error { _, err := s.Take(ctx, "tokens/t"); return err },
				"Delete": func() error { return s.Delete(ctx, "k") },
				"List":   func() error { _, err := s.List(ctx, ""); return err },
			}
			for name, call := range calls {
				begin := time.Now()
				done := make(chan error, 1)
				go func() { done <- call() }()
				select {
				case err := <-done:
					if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
						t.Errorf("%s with Redis %s = %v, want a connection error", name, how, err)
					}
					t.Logf("%s: %v after %v", name, err, time.Since(begin))
					if d := time.Since(begin); d > 3*time.Second {
						t.Errorf("%s with Redis %s took %v", name, how, d)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s with Redis %s hung", name, how)
				}
			}
		})
	}
}
