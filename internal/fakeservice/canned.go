package fakeservice

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// CannedProjectBody is what the fake service answers to a good key. Its odd
// spacing and field order make a byte-for-byte comparison mean something.
const CannedProjectBody = `{"project_id":"proj_1", "project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"blog","monorepo_path":"","is_pro":true, "extra":[1,2]}` + "\n"

// Seen is one request the canned fake received.
type Seen struct {
	Method   string
	Path     string // decoded, below the /api mount point
	RawPath  string // escaped, below the /api mount point
	FullPath string // escaped, as received
	RawQuery string
	Header   http.Header
	Host     string
	Body     []byte         // nil for requests a hook handled
	JSON     map[string]any // Body decoded, when it is a JSON object
}

// Failure modes of the canned fake (Canned.SetMode).
const (
	CannedOK        = ""
	CannedUnauth    = "401"
	CannedError     = "500"
	CannedSlow      = "slow"
	CannedHang      = "hang"
	CannedMalformed = "malformed"
)

// Canned speaks the service side of PROTOCOL.md §2 under /api, like
// https://outstatic.com/api, with canned answers (no checks but the key),
// and records every request it receives, raw: for tests of what a relay
// sends on, byte for byte. Service is the fake that checks like the real
// service, for tests of whole logins.
type Canned struct {
	// Server is the fake's test server; Base is its service URL.
	Server *httptest.Server
	key    string

	mu    sync.Mutex
	reqs  []Seen
	mode  string
	slow  time.Duration
	hooks map[string]http.HandlerFunc
}

// NewCanned starts a canned fake that accepts key, closed when t ends.
func NewCanned(t testing.TB, key string) *Canned {
	t.Helper()
	s := &Canned{key: key, hooks: map[string]http.HandlerFunc{}, slow: 200 * time.Millisecond}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Server.Close)
	return s
}

// Base is the service URL a site would set as OUTSTATIC_API_URL.
func (s *Canned) Base() string { return s.Server.URL + "/api" }

// SetMode makes every call answer as m says.
func (s *Canned) SetMode(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Hook hands the requests for path to h instead of the built-in answers;
// the body is left for h to read as it streams.
func (s *Canned) Hook(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[path] = h
}

// Count returns how many requests the fake received.
func (s *Canned) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Requests returns the requests received, in order.
func (s *Canned) Requests() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.reqs...)
}

// Last returns the last request received; the test fails if there is none.
func (s *Canned) Last(t *testing.T) Seen {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("the service received nothing")
	}
	return reqs[len(reqs)-1]
}

// ServeHTTP answers as the service would, from canned bodies.
func (s *Canned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Seen{
		Method:   r.Method,
		Path:     strings.TrimPrefix(r.URL.Path, "/api"),
		RawPath:  strings.TrimPrefix(r.URL.EscapedPath(), "/api"),
		FullPath: r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Host:     r.Host,
	}
	s.mu.Lock()
	hook, mode, slow := s.hooks[rec.Path], s.mode, s.slow
	s.mu.Unlock()
	if hook != nil {
		s.record(rec)
		hook(w, r)
		return
	}
	rec.Body, _ = io.ReadAll(r.Body)
	_ = json.Unmarshal(rec.Body, &rec.JSON)
	s.record(rec)

	// The real service's CORS and cookies, which the relay must not pass on.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	w.Header().Set("Set-Cookie", "svc=1; Path=/")

	switch mode {
	case CannedHang:
		<-r.Context().Done()
		return
	case CannedSlow:
		time.Sleep(slow)
	case CannedUnauth:
		CannedJSON(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
		return
	case CannedError:
		CannedJSON(w, http.StatusInternalServerError, `{"error":"boom"}`)
		return
	case CannedMalformed:
		CannedJSON(w, http.StatusOK, `{"url": "https://github.com/login`)
		return
	}

	switch {
	case rec.Path == "/outstatic/project":
		if r.Header.Get("Authorization") == "Bearer "+s.key {
			CannedJSON(w, http.StatusOK, CannedProjectBody)
			return
		}
		CannedJSON(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
	case rec.Path == "/outstatic/auth/github-exchange", rec.Path == "/outstatic/auth/google-exchange":
		CannedJSON(w, http.StatusOK, `{"url":"https://github.com/login/oauth/authorize?state=s"}`)
	case rec.Path == "/outstatic/auth/request-magic-link":
		CannedJSON(w, http.StatusOK, `{"success":true}`)
	case rec.Path == "/outstatic/auth/exchange-token":
		CannedJSON(w, http.StatusOK, `{"user":{"email":"a@b.co"},"session":{"access_token":"at_1","refresh_token":"rt_1","expires_at":1900000000}}`)
	case rec.Path == "/outstatic/auth/validate-github-user":
		CannedJSON(w, http.StatusOK, `{"valid":true,"exchange_token":"et_1","user":{"name":"A","login":"a","avatar_url":""}}`)
	case rec.Path == "/outstatic/auth/refresh-token":
		CannedJSON(w, http.StatusOK, `{"session":{"access_token":"at_2","expires_at":1900000000}}`)
	case rec.Path == "/outstatic/scan":
		w.Header().Set("Content-Type", "application/x-scan")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "scanned")
	case rec.Path == "/outstatic/generate":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "completion")
	case rec.Path == "/github/parser":
		CannedJSON(w, http.StatusOK, `{"data":{"repository":{"id":"R_1"}}}`)
	case strings.HasPrefix(rec.Path, "/outstatic/media/"):
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G'})
	default:
		http.NotFound(w, r)
	}
}

func (s *Canned) record(rec Seen) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, rec)
}

// CannedJSON answers with a JSON body as given.
func CannedJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
