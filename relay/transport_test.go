package relay

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// A service transport keeps a connection for each of 100 calls made at
// once (50 logins reading their user and addresses): 100 more at once dial
// nothing new.
func TestServiceTransportKeepsConnections(t *testing.T) {
	const calls = 2 * 50
	var arrived sync.WaitGroup
	var dialled atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// every call of a round is under way before any is answered
		arrived.Done()
		arrived.Wait()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: NewServiceTransport()}
	defer client.CloseIdleConnections()
	round := func() {
		arrived.Add(calls)
		var done sync.WaitGroup
		for range calls {
			done.Go(func() {
				res, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
			})
		}
		done.Wait()
	}
	round()
	first := dialled.Load()
	round()
	if first != calls || dialled.Load() != first {
		t.Fatalf("connections: %d for the first %d calls, %d more for the next %d; want %d and 0", first, calls, dialled.Load()-first, calls, calls)
	}
}
