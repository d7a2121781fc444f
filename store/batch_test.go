package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// testBatch: each op of a batch gives what its method gives, on what the
// methods left, and leaves what its method would; a refused op (a bad key,
// a negative ttl) refuses only itself.
func testBatch(t *testing.T, b backend) {
	s, other := b(testPrefix), b(testPrefix)
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", time.Minute)
	mustPut(t, s, "spent/b", "B", time.Minute)
	mustPut(t, s, "keys/c", "C", 0)
	get, getNone := GetOp("tokens/a"), GetOp("tokens/none")
	put, putNew, putNewTaken := PutOp("keys/d", []byte("D"), time.Minute), PutNewOp("spent/e", []byte("E"), time.Minute), PutNewOp("spent/b", []byte("x"), time.Minute)
	take, takeNone, del := TakeOp("keys/c"), TakeOp("keys/none"), DeleteOp("tokens/a")
	bad, neg := GetOp("../x"), PutOp("keys/neg", []byte("v"), -time.Second)
	s.Batch(ctx, get, getNone, put, putNew, putNewTaken, bad, take, takeNone, neg, del)
	for name, c := range map[string]struct {
		op    *Op
		value string
		err   error
	}{
		"Get": {get, "A", nil}, "Get of none": {getNone, "", ErrNotFound},
		"Put": {put, "", nil}, "PutNew": {putNew, "", nil}, "PutNew over a value": {putNewTaken, "", ErrExists},
		"Take": {take, "C", nil}, "Take of none": {takeNone, "", ErrNotFound}, "Delete": {del, "", nil},
		"Get of a bad key": {bad, "", ErrInvalidKey},
	} {
		if !errors.Is(c.op.Err, c.err) || (c.err == nil && c.op.Err != nil) || string(c.op.Value) != c.value {
			t.Errorf("%s in a batch = %q, %v; want %q, %v", name, c.op.Value, c.op.Err, c.value, c.err)
		}
	}
	if neg.Err == nil {
		t.Error("a Put with a negative ttl in a batch succeeded")
	}
	// what the batch did, as another instance sees it
	wantNotFound(t, other, "tokens/a")
	wantValue(t, other, "keys/d", "D")
	wantValue(t, other, "spent/e", "E")
	wantValue(t, other, "spent/b", "B")
	wantNotFound(t, other, "keys/c")
	wantNotFound(t, other, "keys/neg")
	// ops of one key run in the order given
	first, again, then := PutNewOp("spent/f", []byte("1"), time.Minute), PutNewOp("spent/f", []byte("2"), time.Minute), TakeOp("spent/f")
	other.Batch(ctx, first, again, then)
	if first.Err != nil || !errors.Is(again.Err, ErrExists) || then.Err != nil || string(then.Value) != "1" {
		t.Errorf("PutNew, PutNew, Take of one key = %v, %v, %q %v; want nil, ErrExists, \"1\" nil", first.Err, again.Err, then.Value, then.Err)
	}
	s.Batch(ctx) // nothing to send is not an error
}

// testBatchTakeRace: a Take in a batch is as single as Take: of many
// batches taking one key at once, on two instances, exactly one gets it.
func testBatchTakeRace(t *testing.T, b backend) {
	const perInstance = 30
	instances := []Store{b(testPrefix), b(testPrefix)}
	mustPut(t, instances[0], "tokens/race", "won", time.Minute)
	var mu sync.Mutex
	var won []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range perInstance * len(instances) {
		wg.Go(func() {
			<-start
			take := TakeOp("tokens/race")
			instances[i%2].Batch(context.Background(), GetOp(fmt.Sprintf("keys/x%d", i)), take)
			switch {
			case take.Err == nil:
				mu.Lock()
				won = append(won, string(take.Value))
				mu.Unlock()
			case !errors.Is(take.Err, ErrNotFound):
				t.Errorf("Take in a batch: %v", take.Err)
			}
		})
	}
	close(start)
	wg.Wait()
	if !slices.Equal(won, []string{"won"}) {
		t.Fatalf("batched Takes of one key got %q, want exactly one \"won\"", won)
	}
}

// TestRedisBatchOneRoundTrip: a batch is one round trip to Redis,
// whatever it holds.
func TestRedisBatchOneRoundTrip(t *testing.T) {
	srv := testredis.Start(t)
	c := testredis.Client(t, srv.Addr)
	var trips testredis.RoundTrips
	c.AddHook(&trips)
	s := NewRedis(c, testPrefix)
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", time.Minute)
	trips.Take()
	take, get, put := TakeOp("tokens/a"), GetOp("keyepoch"), PutNewOp("spent/a", []byte("1"), time.Minute)
	s.Batch(ctx, take, get, put, GetOp("../refused"))
	want := []string{"GETDEL outstatic:tokens/a | GET outstatic:keyepoch | SET outstatic:spent/a"}
	if got := trips.Take(); !slices.Equal(got, want) {
		t.Fatalf("round trips of a batch: %q, want %q", got, want)
	}
	if take.Err != nil || string(take.Value) != "A" || !errors.Is(get.Err, ErrNotFound) || put.Err != nil {
		t.Fatalf("batch results: %q %v, %v, %v", take.Value, take.Err, get.Err, put.Err)
	}
}

// TestRedisSentinelBatchWaitsForReplica: behind Sentinel, a batch that
// writes waits for a replica as a single write does (with the replica
// hung, each of its writes fails ErrUnconfirmed, and a read does not); a
// batch that only reads does not wait.
func TestRedisSentinelBatchWaitsForReplica(t *testing.T) {
	g := testredis.StartSentinel(t)
	s := openConfig(t, RedisConfig{Addresses: g.SentinelAddrs(), Sentinel: &RedisSentinel{Master: g.MasterName}})
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", time.Minute)
	g.Replica.Freeze(t)
	read := GetOp("tokens/a")
	s.Batch(ctx, read, GetOp("tokens/none"))
	if read.Err != nil || string(read.Value) != "A" {
		t.Fatalf("a batch of reads with the replica hung: %q, %v", read.Value, read.Err)
	}
	get, take, put := GetOp("tokens/a"), TakeOp("tokens/a"), PutOp("tokens/b", []byte("B"), time.Minute)
	s.Batch(ctx, get, take, put)
	if get.Err != nil || string(get.Value) != "A" {
		t.Errorf("a read in a batch that writes, with the replica hung: %q, %v", get.Value, get.Err)
	}
	for name, err := range map[string]error{"Take": take.Err, "Put": put.Err} {
		if !errors.Is(err, ErrUnconfirmed) {
			t.Errorf("%s in a batch with the replica hung = %v, want ErrUnconfirmed", name, err)
		}
	}
	wantNotFound(t, s, "tokens/a") // spent on the master all the same
	g.Replica.Resume(t)
	put = PutOp("tokens/c", []byte("C"), time.Minute)
	s.Batch(ctx, GetOp("tokens/b"), put)
	if put.Err != nil {
		t.Fatal(put.Err)
	}
	replica := testredis.Client(t, g.Replica.Addr)
	if v, err := replica.Get(ctx, "outstatic:tokens/c").Result(); err != nil || v != "C" {
		t.Fatalf("the replica right after a confirmed batch: %q, %v", v, err)
	}
}
