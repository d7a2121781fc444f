// Package testwait waits, in tests, for what must come about by itself: a
// condition to hold, a value to arrive, the goroutines a test started to
// end. Every wait has the same outer bound, Bound, far past any timeout
// the code under test allows itself: it turns a hang into a failure that
// says what did not happen. It is no speed target, and a test built on
// this package compares no duration: it asserts what ended a call (the
// timeout's error, the fake server seeing the client leave) or the order
// in which things happened.
package testwait

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bound is how long a wait lasts before it fails the test.
const Bound = time.Minute

// poll is how often Until and Ended look again.
const poll = 10 * time.Millisecond

// Until polls cond until it holds, and fails t with what if it still does
// not hold after Bound.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v", what, Bound)
		}
		time.Sleep(poll)
	}
}

// Recv returns the next value from ch (the zero value once ch is closed:
// closing a channel is how a goroutine says it is done), failing t with
// what if nothing comes within Bound.
func Recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Bound):
		t.Fatalf("%s: nothing after %v", what, Bound)
	}
	var zero T
	return zero
}

// Inside waits until at least n goroutines are inside fn (a function
// name as stacks print it, such as "(*oidcLogin).prepare"), and fails t
// with what if they are not after Bound. A test uses it to know that
// callers have reached the point where they wait, before it lets the
// thing they wait for go: the order of events, not a time, says they
// waited together.
func Inside(t testing.TB, what, fn string, n int) {
	t.Helper()
	Until(t, what, func() bool {
		in := 0
		for _, stack := range stacks() {
			if strings.Contains(stack, fn+"(") {
				in++
			}
		}
		return in >= n
	})
}

// Goroutines is the set of goroutines running at one moment, by id.
type Goroutines map[uint64]bool

// Running returns the goroutines running now: take it before the part of
// a test that must leave none behind.
func Running() Goroutines {
	g := Goroutines{}
	for id := range stacks() {
		g[id] = true
	}
	return g
}

// Ended waits until at most slack goroutines run that were not running
// when g was taken, and fails t with their stacks if more still run after
// Bound. Goroutines of g that ended meanwhile do not count either way.
func (g Goroutines) Ended(t testing.TB, slack int) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	for {
		var left []string
		for id, stack := range stacks() {
			if !g[id] {
				left = append(left, stack)
			}
		}
		if len(left) <= slack {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines started since the snapshot still run after %v (%d allowed):\n\n%s",
				len(left), Bound, slack, strings.Join(left, "\n\n"))
		}
		time.Sleep(poll)
	}
}

// stacks returns the stack of every goroutine but the caller's, by id.
func stacks() map[uint64]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[uint64]string{}
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // runtime.Stack puts the caller's goroutine first
		}
		head, _, _ := bytes.Cut(block, []byte(" ["))
		id, err := strconv.ParseUint(string(bytes.TrimPrefix(head, []byte("goroutine "))), 10, 64)
		if err != nil {
			panic(fmt.Sprintf("testwait: unreadable goroutine header %q", head))
		}
		out[id] = string(block)
	}
	return out
}
