// Package faulty is an HTTP server on 127.0.0.1 that answers like a broken
// upstream when told to: slowly, never, with a reset connection, a 500,
// malformed JSON or a body of 100 MB. Between faults it passes requests to
// a real handler (a fake of GitHub, of the service, of an AI endpoint), so
// one test can move a working upstream in and out of failure.
package faulty

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is how the server answers.
type Fault int32

// The faults. None passes every request to the wrapped handler.
const (
	None Fault = iota
	// Slow waits Delay, then answers as None.
	Slow
	// Hang never answers: the request stays open until the client gives
	// up or the server closes.
	Hang
	// Reset closes the connection with a TCP reset before any answer.
	Reset
	// Status500 answers 500 with a JSON error body.
	Status500
	// Malformed answers 200, application/json, with JSON cut short.
	Malformed
	// Huge answers 200 with HugeBytes of JSON-looking bytes, streamed.
	Huge
)

// HugeBytes is the size of a Huge answer: 100 MB.
const HugeBytes = 100 << 20

// String names the fault, for test names.
func (f Fault) String() string {
	return [...]string{"none", "slow", "hang", "reset", "500", "malformed", "huge"}[f]
}

// All is every fault but None, for table tests.
var All = []Fault{Slow, Hang, Reset, Status500, Malformed, Huge}

// Server is a fault-injecting HTTP server. Its methods are safe for
// concurrent use.
type Server struct {
	*httptest.Server
	// Delay is how long Slow waits; set it before the first request.
	Delay time.Duration

	next    http.Handler
	fault   atomic.Int32
	only    atomic.Pointer[string] // the one path that meets the fault; nil: every path
	hits    atomic.Int64
	gaveUp  atomic.Int64
	sent    atomic.Int64
	release chan struct{} // closed by Close: ends every Hang
	once    sync.Once
}

// New starts a server on 127.0.0.1 passing requests to next until a fault
// is set. Close it when done (t.Cleanup(s.Close)).
func New(next http.Handler) *Server {
	s := &Server{next: next, Delay: 2 * time.Second, release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set makes every following request meet f.
func (s *Server) Set(f Fault) { s.only.Store(nil); s.fault.Store(int32(f)) }

// SetOn makes the following requests for path meet f, and passes every
// other request on: one endpoint of an upstream fails while its others
// work (an issuer whose keys are broken but whose token endpoint answers).
func (s *Server) SetOn(path string, f Fault) { s.only.Store(&path); s.fault.Store(int32(f)) }

// Hits counts the requests that reached the server.
func (s *Server) Hits() int64 { return s.hits.Load() }

// GaveUp counts the requests the client gave up on before the answer was
// whole: a Slow or Hang request whose client closed the connection (not
// ended by Close), a Huge answer the client stopped reading. Tests use it
// to show a timeout held or a limit cut a body short, without timing.
func (s *Server) GaveUp() int64 { return s.gaveUp.Load() }

// HugeSent counts the bytes of Huge answers written so far, of HugeBytes
// each: what the clients read of them, give or take the buffers between.
func (s *Server) HugeSent() int64 { return s.sent.Load() }

// Close ends hung requests, then the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.release) })
	s.Server.CloseClientConnections()
	s.Server.Close()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	f := Fault(s.fault.Load())
	if only := s.only.Load(); only != nil && r.URL.Path != *only {
		f = None
	}
	if f == Slow || f == Hang {
		// Read the body first: Go's server notices a client that gives up
		// (and cancels r's context) only once the body has been read.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	switch f {
	case None:
		s.next.ServeHTTP(w, r)
	case Slow:
		select {
		case <-time.After(s.Delay):
			s.next.ServeHTTP(w, r)
		case <-r.Context().Done():
			s.gaveUp.Add(1)
		case <-s.release:
		}
	case Hang:
		select {
		case <-r.Context().Done():
			s.gaveUp.Add(1)
		case <-s.release:
		}
	case Reset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST, not FIN
		}
		conn.Close()
	case Status500:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"internal"}`))
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"project_id":"p","is_pro":tru`))
	case Huge:
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(`{"a":"` + strings.Repeat("x", 64<<10-10) + `"},`)
		_, _ = w.Write([]byte("["))
		for sent := 1; sent < HugeBytes; sent += len(chunk) {
			n, err := w.Write(chunk)
			s.sent.Add(int64(n))
			if err != nil {
				s.gaveUp.Add(1)
				return // the client stopped reading: what a bound looks like
			}
		}
		_, _ = w.Write([]byte("{}]"))
	}
}
