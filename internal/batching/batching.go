// Package batching runs work for many callers one batch at a time. A
// caller joins the batch that has not begun yet, or makes one; a batch
// begins once the one before it has ended, after the goroutines already
// runnable (requests read at the same moment) have had their turn to join
// it; each caller returns once its batch has run. So a batch holds only
// callers that arrived before it began: a read shared this way began after
// each of its callers called (none gets an answer older than its call),
// and a write shared this way is done before its caller goes on. Under
// load, the number of batches is bounded by the time one takes, not by
// the number of callers.
package batching

import (
	"context"
	"runtime"
	"sync"
)

// Batches runs batches of items of type I, one at a time. The zero value
// is ready to use.
type Batches[I any] struct {
	mu      sync.Mutex
	running *batch[I] // begun; newcomers may not join it
	next    *batch[I] // not begun; newcomers join it
}

// batch is one batch's items and its end.
type batch[I any] struct {
	done  chan struct{}
	items []I
}

// Do adds item to the batch that has not begun and returns once that
// batch has run. The caller that made the batch runs it, calling run once
// with every item, in the order they joined; every caller passes an
// equivalent run. If ctx ends first, Do returns its error; the batch still
// runs, item in it (run should not depend on the caller's cancellation).
func (b *Batches[I]) Do(ctx context.Context, item I, run func(items []I)) error {
	b.mu.Lock()
	if n := b.next; n != nil {
		n.items = append(n.items, item)
		b.mu.Unlock()
		select {
		case <-n.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	n, before := &batch[I]{done: make(chan struct{}), items: []I{item}}, b.running
	b.next = n
	b.mu.Unlock()
	if before != nil {
		<-before.done
	}
	runtime.Gosched() // let the callers runnable now join n
	b.mu.Lock()
	b.running, b.next = n, nil
	items := n.items
	b.mu.Unlock()
	run(items)
	b.mu.Lock()
	if b.running == n {
		b.running = nil
	}
	b.mu.Unlock()
	close(n.done)
	return nil
}
