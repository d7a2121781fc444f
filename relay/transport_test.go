package relay

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Ten calls at a time, five times over, reuse the ten connections of the
// first round: Go's default transport keeps two and dials most again.
func TestServiceTransportKeepsConnections(t *testing.T) {
	var dialed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: NewServiceTransport()}
	const conc, rounds = 10, 5
	for range rounds {
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				res, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			})
		}
		wg.Wait()
	}
	if n := dialed.Load(); n > conc {
		t.Fatalf("%d connections for %d rounds of %d calls, want at most %d", n, rounds, conc, conc)
	}
}
