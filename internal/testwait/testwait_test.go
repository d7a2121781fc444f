package testwait

import (
	"strings"
	"testing"
)

func TestEndedSeesOnlyNewGoroutines(t *testing.T) {
	before := Running()
	stop := make(chan struct{})
	started := make(chan struct{})
	go func() { close(started); <-stop }()
	<-started
	var found []string
	for id, stack := range stacks() {
		if !before[id] {
			found = append(found, stack)
		}
	}
	if len(found) != 1 || !strings.Contains(found[0], "TestEndedSeesOnlyNewGoroutines") {
		t.Fatalf("new goroutines: %q, want the one started here", found)
	}
	before.Ended(t, 1) // one allowed: it returns at once
	close(stop)
	before.Ended(t, 0)
}

func TestUntilAndRecv(t *testing.T) {
	n := 0
	Until(t, "three looks", func() bool { n++; return n == 3 })
	ch := make(chan int, 1)
	ch <- 7
	if got := Recv(t, "a value", ch); got != 7 {
		t.Fatalf("Recv = %d", got)
	}
}

func parkHere(stop <-chan struct{}) { <-stop }

func TestInside(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	for range 3 {
		go parkHere(stop)
	}
	Inside(t, "three parked", "testwait.parkHere", 3)
}
