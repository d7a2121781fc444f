package verdict

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// A check's answer is recorded only if no check begun after it has been
// recorded: a 200 the service sent before it revoked the key, arriving
// after the 401 of a later check (Answers runs beside a refresh or a cold
// lookup), must not make the revoked key Valid again.
func TestLaterAnswerWinsOverEarlierCheck(t *testing.T) {
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	var n atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := n.Add(1) == 1
		entered <- struct{}{}
		w.Header().Set("Content-Type", "application/json")
		if first {
			// Answered before the revocation, delivered after it.
			<-release
			_, _ = w.Write([]byte(fakeservice.KeyCheckProBody))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid-api-key"}`))
	}))
	defer svc.Close()
	c := New(Options{Service: svc.URL, Client: svc.Client(), Timeout: testwait.Bound, Interval: time.Hour})
	defer c.Close()

	early := make(chan Verdict, 1)
	go func() { early <- c.Lookup(context.Background(), testKey) }()
	select {
	case <-entered:
	case <-time.After(testwait.Bound):
		t.Fatal("the first check did not reach the service")
	}
	if !c.Answers(context.Background(), testKey) {
		t.Fatal("Answers: the service's 401 is an answer")
	}
	wantState(t, c.Lookup(context.Background(), testKey), Invalid, false)
	close(release)
	select {
	case <-early:
	case <-time.After(testwait.Bound):
		t.Fatal("the first check did not end")
	}
	wantState(t, c.Lookup(context.Background(), testKey), Invalid, false)
}
