package batching

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestBatchesBeginAfterTheirCallers: a caller never joins a batch that
// has begun; the callers that arrive while one runs share the next, which
// runs once with all of their items; a caller that gives up still has its
// item run.
func TestBatchesBeginAfterTheirCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b Batches[int]
		var runs [][]int
		var n atomic.Int64
		release := make(chan struct{})
		run := func(items []int) {
			if n.Add(1) == 1 {
				<-release
			}
			runs = append(runs, slices.Clone(items))
		}
		ctx := context.Background()
		first := make(chan error, 1)
		go func() { first <- b.Do(ctx, 0, run) }()
		synctest.Wait() // batch 1 under way
		later := make(chan error, 5)
		for i := 1; i <= 4; i++ {
			go func() { later <- b.Do(ctx, i, run) }()
		}
		synctest.Wait() // one of the four made the next batch
		gone, cancel := context.WithCancel(ctx)
		go func() { later <- b.Do(gone, 5, run) }()
		synctest.Wait() // the five wait
		cancel()
		if err := <-later; err != context.Canceled {
			t.Fatalf("the caller that gave up: %v", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if err := <-later; err != nil {
				t.Fatal(err)
			}
		}
		if len(runs) != 2 || !slices.Equal(runs[0], []int{0}) {
			t.Fatalf("batches %v, want [0] then the five that came during it", runs)
		}
		got := slices.Sorted(slices.Values(runs[1]))
		if !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("the second batch: %v, want the five callers that came during the first", runs[1])
		}
		if err := b.Do(ctx, 6, run); err != nil || len(runs) != 3 || !slices.Equal(runs[2], []int{6}) {
			t.Fatalf("a call after the others: %v %v", err, runs)
		}
	})
}
