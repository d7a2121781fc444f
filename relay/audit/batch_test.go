package audit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// gatedStore holds its first batch until the gate opens, and keeps the
// size of every batch.
type gatedStore struct {
	store.Store
	gate    chan struct{}
	mu      sync.Mutex
	batches []int
}

func (g *gatedStore) Batch(ctx context.Context, ops ...*store.Op) {
	g.mu.Lock()
	g.batches = append(g.batches, len(ops))
	first := len(g.batches) == 1
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	g.Store.Batch(ctx, ops...)
}

// TestLogSharesBatchesAmongWriters: records written while another is
// being written go to the store in one batch together (on Redis, one
// round trip), each Record returning once its record is stored.
func TestLogSharesBatchesAmongWriters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &gatedStore{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic"), gate: make(chan struct{})}
		l := New(Config{Store: st, Prefix: "auditlog/", MaxPerProject: 1000, Retention: time.Hour})
		var writers sync.WaitGroup
		record := func(i int) {
			writers.Go(func() { l.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: fmt.Sprint("m", i)}) })
		}
		record(0)
		synctest.Wait() // the first record's batch waits at the gate
		for i := 1; i <= 5; i++ {
			record(i)
		}
		synctest.Wait()
		close(st.gate)
		writers.Wait()
		if !slices.Equal(st.batches, []int{1, 5}) {
			t.Fatalf("batches of %v records, want 1 then the 5 written meanwhile", st.batches)
		}
		got, err := l.Read(ctx, Query{Projects: []string{"blog"}})
		if err != nil || len(got.Events) != 6 {
			t.Fatalf("%d records kept (%v), want 6", len(got.Events), err)
		}
	})
}
