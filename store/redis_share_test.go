package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/redis/go-redis/v9"
)

// heldPipelines is a go-redis hook that records the store's pipelines
// (their commands' keys) and holds the first one until released.
type heldPipelines struct {
	entered, release chan struct{}

	mu        sync.Mutex
	pipelines [][]string
}

func (h *heldPipelines) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *heldPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *heldPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var keys []string
		for _, cmd := range cmds {
			if args := cmd.Args(); len(args) > 1 {
				if k := fmt.Sprint(args[1]); strings.HasPrefix(k, "shared:") {
					keys = append(keys, fmt.Sprint(args[0])+" "+k)
				}
			}
		}
		if len(keys) > 0 {
			h.mu.Lock()
			h.pipelines = append(h.pipelines, keys)
			first := len(h.pipelines) == 1
			h.mu.Unlock()
			if first {
				close(h.entered)
				<-h.release
			}
		}
		return next(ctx, cmds)
	}
}

// TestRedisSharesPipelines: the operations of callers that arrive while a
// pipeline is under way go together in the next one, each answered from
// its own reply (one caller's refused PutNew is its own); a caller that
// gives up while it waits gets its context's error, and the others their
// results.
func TestRedisSharesPipelines(t *testing.T) {
	srv := testredis.Start(t)
	rc := testredis.Client(t, srv.Addr)
	s := NewRedis(rc, "shared")
	ctx := context.Background()
	if err := s.Put(ctx, "taken", []byte("already"), 0); err != nil {
		t.Fatal(err)
	}
	held := &heldPipelines{entered: make(chan struct{}), release: make(chan struct{})}
	rc.AddHook(held)

	first := make(chan error, 1)
	go func() { first <- s.Put(ctx, "first", []byte("1"), 0) }()
	testwait.Recv(t, "the first pipeline under way", held.entered)

	const callers = 8
	type answer struct {
		i        int
		put, get *Op
	}
	answers := make(chan answer, callers)
	for i := range callers {
		go func() {
			key := fmt.Sprintf("k%d", i)
			if i == 0 {
				key = "taken" // its PutNew is refused, the others' are not
			}
			put, get := PutNewOp(key, []byte(key), 0), GetOp(key)
			s.Batch(ctx, put, get)
			answers <- answer{i, put, get}
		}()
	}
	// the first caller, and the eight that wait (one of them to run the
	// next pipeline once the first ends)
	testwait.Inside(t, "callers waiting for the pipeline under way", "(*Batches[...]).Do", callers+1)
	// one more, which joins the next pipeline and gives up
	gone, cancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() {
		_, err := s.Take(gone, "k1")
		left <- err
	}()
	testwait.Inside(t, "the caller that will give up waiting too", "(*Batches[...]).Do", callers+2)
	cancel()
	if err := testwait.Recv(t, "the caller that gave up", left); !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v, want context.Canceled", err)
	}
	close(held.release)
	if err := testwait.Recv(t, "the first Put", first); err != nil {
		t.Fatal(err)
	}
	for range callers {
		a := testwait.Recv(t, "a caller's answer", answers)
		key := fmt.Sprintf("k%d", a.i)
		want := key
		if a.i == 0 {
			key, want = "taken", "already"
			if !errors.Is(a.put.Err, ErrExists) {
				t.Errorf("the PutNew of a present key: %v, want ErrExists", a.put.Err)
			}
		} else if a.put.Err != nil {
			t.Errorf("PutNew %s: %v", key, a.put.Err)
		}
		if a.get.Err != nil || string(a.get.Value) != want {
			t.Errorf("Get %s: %q %v, want %q", key, a.get.Value, a.get.Err, want)
		}
	}
	held.mu.Lock()
	defer held.mu.Unlock()
	if len(held.pipelines) != 2 {
		t.Fatalf("%d pipelines %q, want 2: the first, and one with every caller that came during it", len(held.pipelines), held.pipelines)
	}
	if n := len(held.pipelines[1]); n != 2*callers+1 {
		t.Errorf("the shared pipeline holds %d commands %q, want %d (the Take of the caller that gave up still runs)", n, held.pipelines[1], 2*callers+1)
	}
}
