package store

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// Each instance gets its own client to one server, as two relays would. A
// server per subtest keeps their keys apart.
func redisBackend(t *testing.T) backend {
	srv := testredis.Start(t)
	return func(prefix string) Store {
		return NewRedis(testredis.Client(t, srv.Addr), prefix)
	}
}

func TestRedisConformance(t *testing.T) {
	runConformance(t, redisBackend)
}

func TestRedisLayout(t *testing.T) {
	srv := testredis.Start(t)
	raw := testredis.Client(t, srv.Addr)
	s := NewRedis(testredis.Client(t, srv.Addr), testPrefix)
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
			srv := testredis.Start(t)
			s := NewRedis(testredis.Client(t, srv.Addr), testPrefix)
			mustPut(t, s, "tokens/t", "v", time.Minute)
			wantValue(t, s, "tokens/t", "v")
			if how == "killed" {
				srv.Stop()
			} else {
				srv.Freeze(t)
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
				done := make(chan error, 1)
				go func() { done <- call() }()
				// The context never ends: a call to a hung Redis can only
				// end by the client's timeouts, and says so.
				err := testwait.Recv(t, name+" with Redis "+how, done)
				if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
					t.Errorf("%s with Redis %s = %v, want a connection error", name, how, err)
				}
				var ne net.Error
				if timedOut := errors.As(err, &ne) && ne.Timeout(); how == "hung" && !timedOut {
					t.Errorf("%s with Redis hung = %v, want the client's timeout", name, err)
				}
				t.Logf("%s: %v", name, err)
			}
		})
	}
}

// TestReplicasOf reads a master's ROLE reply; one that cannot be read (an
// ACL user without ROLE) counts as a replica, so the write waits.
func TestReplicasOf(t *testing.T) {
	ctx := context.Background()
	role := func(v any, err error) *redis.Cmd {
		c := redis.NewCmd(ctx, "ROLE")
		c.SetVal(v)
		c.SetErr(err)
		return c
	}
	for name, tc := range map[string]struct {
		cmd  *redis.Cmd
		want int
	}{
		"no replica":   {role([]any{"master", int64(10), []any{}}, nil), 0},
		"two replicas": {role([]any{"master", int64(10), []any{[]any{"10.0.0.2", "6379", "10"}, []any{"10.0.0.3", "6379", "9"}}}, nil), 2},
		"refused":      {role(nil, errors.New("NOPERM this user has no permissions to run the 'role' command")), 1},
		"unreadable":   {role([]any{"master"}, nil), 1},
	} {
		if got := replicasOf(tc.cmd); got != tc.want {
			t.Errorf("%s: %d replicas, want %d", name, got, tc.want)
		}
	}
}
