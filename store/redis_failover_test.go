package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// TestRedisSentinelFailover kills the master (SIGKILL) in the middle of a
// run of tokens put and taken by two instances, four Takes of each token
// at once. While Sentinel promotes the replica every call fails with an
// error within the client's bounds (none waits out its own context), no
// token is taken twice, and the run carries on against the new master
// without any restart. A token with no winning Take is one whose winning
// reply the kill cut (that Take answered an error): spent, never handed
// out twice.
func TestRedisSentinelFailover(t *testing.T) {
	g := testredis.StartSentinel(t)
	cfg := RedisConfig{Addresses: g.SentinelAddrs(), Sentinel: &RedisSentinel{Master: g.MasterName}}
	instances := []Store{openConfig(t, cfg), openConfig(t, cfg)}
	const tokens, takers, killAt = 60, 4, 20
	deadline := time.Now().Add(90 * time.Second)

	// call runs f until it gives a definite answer, retrying errors, and
	// fails the test if a call ran into its own context's end (a hang).
	var cutMu sync.Mutex
	errored := map[int]bool{} // tokens a Take of which answered an error
	call := func(token int, f func(ctx context.Context) error) error {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err := f(ctx)
			hung := ctx.Err() != nil
			cancel()
			if hung {
				t.Errorf("token %d: a call ran until its 15s context ended: %v", token, err)
			}
			if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
				return err
			}
			cutMu.Lock()
			errored[token] = true
			cutMu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("token %d: still failing 90s into the run, the last error: %v", token, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	var killed sync.WaitGroup
	wins := make([]int, tokens)
	for i := range tokens {
		if i == killAt {
			killed.Go(g.Master.Kill)
		}
		key := fmt.Sprintf("tokens/failover%02d", i)
		_ = call(i, func(ctx context.Context) error { return instances[i%2].Put(ctx, key, []byte("v"), time.Minute) })
		var mu sync.Mutex
		var wg sync.WaitGroup
		for j := range takers {
			wg.Go(func() {
				var v []byte
				err := call(i, func(ctx context.Context) error {
					var err error
					v, err = instances[j%2].Take(ctx, key)
					return err
				})
				if err == nil {
					if string(v) != "v" {
						t.Errorf("token %d: Take = %q", i, v)
					}
					mu.Lock()
					wins[i]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	killed.Wait()

	cut := make([]bool, tokens)
	for i := range cut {
		cut[i] = errored[i]
	}
	lost := testredis.CheckSingleUse(t, "token", wins, cut)
	if role, err := g.Replica.Role(context.Background()); err != nil || role != "master" {
		t.Errorf("the replica's role after the run: %q, %v; want master (the run went on without a failover?)", role, err)
	}
	t.Logf("%d tokens, the master killed before token %d; %d spent by a Take whose answer the kill cut", tokens, killAt, lost)
}

// TestRedisSentinelWritesWaitForReplica: behind Sentinel a write counts
// only once a replica holds it. With the replica hung (connected, never
// answering) every write fails with ErrUnconfirmed, and a read still
// answers; once it resumes, writes count again and the replica has them.
func TestRedisSentinelWritesWaitForReplica(t *testing.T) {
	g := testredis.StartSentinel(t)
	s := openConfig(t, RedisConfig{Addresses: g.SentinelAddrs(), Sentinel: &RedisSentinel{Master: g.MasterName}})
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", time.Minute)
	g.Replica.Freeze(t)
	for name, err := range map[string]error{
		"Put":    s.Put(ctx, "tokens/b", []byte("B"), time.Minute),
		"PutNew": s.PutNew(ctx, "spent/b", []byte("B"), time.Minute),
		"Delete": s.Delete(ctx, "tokens/none"),
	} {
		if !errors.Is(err, ErrUnconfirmed) {
			t.Errorf("%s with the replica hung = %v, want ErrUnconfirmed", name, err)
		}
	}
	if _, err := s.Take(ctx, "tokens/a"); !errors.Is(err, ErrUnconfirmed) {
		t.Errorf("Take with the replica hung = %v, want ErrUnconfirmed", err)
	}
	wantNotFound(t, s, "tokens/a") // spent on the master all the same
	g.Replica.Resume(t)
	mustPut(t, s, "tokens/c", "C", time.Minute)
	replica := testredis.Client(t, g.Replica.Addr)
	if v, err := replica.Get(ctx, "outstatic:tokens/c").Result(); err != nil || v != "C" {
		t.Fatalf("the replica right after a confirmed Put: %q, %v", v, err)
	}
}
