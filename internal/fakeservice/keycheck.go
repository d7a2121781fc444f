package fakeservice

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// The key check's answers for a Pro and a free project.
const (
	KeyCheckProBody  = `{"project_id":"p_123","project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"site","monorepo_path":"apps/web","is_pro":true}`
	KeyCheckFreeBody = `{"project_id":"p_456","project_slug":"notes","account_slug":"acme","repo_owner":"acme","repo_slug":"notes","monorepo_path":"","is_pro":false}`
	// KeyCheckRelayBody is the Pro answer as a native relay gives it, with
	// the extension for guards: the project's callback origins and plan.
	KeyCheckRelayBody = `{"project_id":"p_123","project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"site","monorepo_path":"apps/web","is_pro":true,` +
		`"callback_origins":["https://blog.example.com/outstatic","https://preview.example.com/outstatic"],"plan":"pro"}`
)

// KeyCheckMode is how the key check fake answers (KeyCheck.Set).
type KeyCheckMode int32

const (
	KeyPro          KeyCheckMode = iota // 200, a Pro project
	KeyFree                             // 200, a free project
	KeyUnauthorized                     // 401 invalid-api-key
	KeyForbidden                        // 403
	KeyError                            // 500, echoing the Authorization header
	KeyClose                            // drops the connection without answering
	KeyHang                             // blocks until the test ends
	KeyGate                             // waits for gate, then answers as KeyPro
	KeyMalformed                        // 200, truncated JSON
	KeyNoProjectID                      // 200, JSON without project_id
	KeyNull                             // 200, null
	KeyWrongType                        // 200, project_id a number
	KeyHTML                             // 200, an HTML page
	KeyHuge                             // 200, a project padded past 1 MiB
	KeyRedirect                         // 302 to a path that answers KeyPro
	KeyTeapot                           // 418
	KeyRelay                            // 200, a Pro project with the extension (KeyCheckRelayBody)
	KeyOddExtension                     // 200, a Pro project whose extension fields have other types
)

var modeNames = [...]string{"pro", "free", "401", "403", "500", "close", "hang", "gate",
	"malformed", "no-project-id", "null", "wrong-type", "html", "huge", "redirect", "418", "relay", "odd-extension"}

// String names the mode in test names.
func (m KeyCheckMode) String() string { return modeNames[m] }

// KeyCheck is the Outstatic service's key check (GET /outstatic/project)
// on 127.0.0.1, with switches for every answer the verdict cache must
// handle: failures, hangs, malformed and odd bodies.
type KeyCheck struct {
	// Server is the fake's test server.
	Server   *httptest.Server
	mode     atomic.Int32
	requests atomic.Int64
	entered  chan struct{} // a value per request received
	// GaveUp gets a value per hung request the client abandoned.
	GaveUp  chan struct{}
	release chan struct{} // closed when the test ends: hung handlers return
	// Gate is closed by a test to let KeyGate answer.
	Gate chan struct{}

	mu      sync.Mutex
	headers []http.Header
	paths   []string
}

// NewKeyCheck starts the fake, closed when tb ends.
func NewKeyCheck(tb testing.TB) *KeyCheck {
	f := &KeyCheck{
		entered: make(chan struct{}, 4096),
		GaveUp:  make(chan struct{}, 64),
		release: make(chan struct{}),
		Gate:    make(chan struct{}),
	}
	f.Server = httptest.NewServer(f)
	// Cleanups run last-registered first: hung handlers are released
	// before the server waits for them.
	tb.Cleanup(f.Server.Close)
	tb.Cleanup(func() { close(f.release) })
	return f
}

// Set switches how the fake answers.
func (f *KeyCheck) Set(m KeyCheckMode) { f.mode.Store(int32(m)) }

// Count returns how many checks reached the fake.
func (f *KeyCheck) Count() int64 { return f.requests.Load() }

// LastRequest returns the path and header of the last check.
func (f *KeyCheck) LastRequest() (string, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[len(f.paths)-1], f.headers[len(f.headers)-1]
}

// WaitEntered waits for the next request to reach the service.
func (f *KeyCheck) WaitEntered(tb testing.TB) {
	tb.Helper()
	select {
	case <-f.entered:
	case <-time.After(testwait.Bound):
		tb.Fatal("no request reached the service")
	}
}

// DrainEntered forgets the requests seen so far.
func (f *KeyCheck) DrainEntered() {
	for {
		select {
		case <-f.entered:
		default:
			return
		}
	}
}

// ServeHTTP answers as the current mode says.
func (f *KeyCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/elsewhere" {
		writeBody(w, http.StatusOK, KeyCheckProBody)
		return
	}
	f.requests.Add(1)
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	select {
	case f.entered <- struct{}{}:
	default:
	}

	switch KeyCheckMode(f.mode.Load()) {
	case KeyPro:
		writeBody(w, http.StatusOK, KeyCheckProBody)
	case KeyFree:
		writeBody(w, http.StatusOK, KeyCheckFreeBody)
	case KeyUnauthorized:
		writeBody(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
	case KeyForbidden:
		writeBody(w, http.StatusForbidden, `{"error":"forbidden"}`)
	case KeyError:
		// A careless service that echoes the key: it must still not
		// reach a log.
		writeBody(w, http.StatusInternalServerError, `{"error":"boom","auth":"`+r.Header.Get("Authorization")+`"}`)
	case KeyClose:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case KeyHang:
		select {
		case <-f.release:
		case <-r.Context().Done():
			select {
			case f.GaveUp <- struct{}{}:
			default:
			}
			<-f.release
		}
	case KeyGate:
		select {
		case <-f.Gate:
		case <-f.release:
		}
		writeBody(w, http.StatusOK, KeyCheckProBody)
	case KeyMalformed:
		writeBody(w, http.StatusOK, `{"project_id":"p_123","is_pro":tr`)
	case KeyNoProjectID:
		writeBody(w, http.StatusOK, `{"project_slug":"blog","is_pro":true}`)
	case KeyNull:
		writeBody(w, http.StatusOK, `null`)
	case KeyWrongType:
		writeBody(w, http.StatusOK, `{"project_id":42,"is_pro":true}`)
	case KeyHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body>Sign in to the Wi-Fi</body></html>"))
	case KeyHuge:
		writeBody(w, http.StatusOK, `{"project_id":"p_123","is_pro":true,"pad":"`+strings.Repeat("a", 1<<20)+`"}`)
	case KeyRedirect:
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case KeyTeapot:
		writeBody(w, http.StatusTeapot, `{}`)
	case KeyRelay:
		writeBody(w, http.StatusOK, KeyCheckRelayBody)
	case KeyOddExtension:
		writeBody(w, http.StatusOK, `{"project_id":"p_123","project_slug":"blog","is_pro":true,"callback_origins":"https://blog.example.com/outstatic","plan":1}`)
	}
}

func writeBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
