package forward

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

// fakeProjectBody is what the fake service answers to a good key. Its odd
// spacing and field order make a byte-for-byte comparison mean something.
const fakeProjectBody = `{"project_id":"proj_1", "project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"blog","monorepo_path":"","is_pro":true, "extra":[1,2]}` + "\n"

// seen is one request the fake service received.
type seen struct {
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

// Failure modes of the fake service.
const (
	modeOK        = ""
	modeUnauth    = "401"
	modeError     = "500"
	modeSlow      = "slow"
	modeHang      = "hang"
	modeMalformed = "malformed"
)

// fakeService speaks the service side of PROTOCOL.md §2 under /api, like
// https://outstatic.com/api, and records every request it receives.
type fakeService struct {
	srv *httptest.Server

	mu    sync.Mutex
	reqs  []seen
	mode  string
	slow  time.Duration
	hooks map[string]http.HandlerFunc
}

func newFakeService(t *testing.T) *fakeService {
	t.Helper()
	s := &fakeService{hooks: map[string]http.HandlerFunc{}, slow: 200 * time.Millisecond}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// base is the service URL a site would set as OUTSTATIC_API_URL.
func (s *fakeService) base() string { return s.srv.URL + "/api" }

func (s *fakeService) setMode(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// hook hands the requests for path to h instead of the built-in answers;
// the body is left for h to read as it streams.
func (s *fakeService) hook(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[path] = h
}

func (s *fakeService) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *fakeService) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// last returns the last request received; the test fails if there is none.
func (s *fakeService) last(t *testing.T) seen {
	t.Helper()
	reqs := s.requests()
	if len(reqs) == 0 {
		t.Fatal("the service received nothing")
	}
	return reqs[len(reqs)-1]
}

func (s *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := seen{
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
	case modeHang:
		<-r.Context().Done()
		return
	case modeSlow:
		time.Sleep(slow)
	case modeUnauth:
		fakeJSON(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
		return
	case modeError:
		fakeJSON(w, http.StatusInternalServerError, `{"error":"boom"}`)
		return
	case modeMalformed:
		fakeJSON(w, http.StatusOK, `{"url": "https://github.com/login`)
		return
	}

	switch {
	case rec.Path == "/outstatic/project":
		if r.Header.Get("Authorization") == "Bearer "+testKey {
			fakeJSON(w, http.StatusOK, fakeProjectBody)
			return
		}
		fakeJSON(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
	case rec.Path == "/outstatic/auth/github-exchange", rec.Path == "/outstatic/auth/google-exchange":
		fakeJSON(w, http.StatusOK, `{"url":"https://github.com/login/oauth/authorize?state=s"}`)
	case rec.Path == "/outstatic/auth/request-magic-link":
		fakeJSON(w, http.StatusOK, `{"success":true}`)
	case rec.Path == "/outstatic/auth/exchange-token":
		fakeJSON(w, http.StatusOK, `{"user":{"email":"a@b.co"},"session":{"access_token":"at_1","refresh_token":"rt_1","expires_at":1900000000}}`)
	case rec.Path == "/outstatic/auth/validate-github-user":
		fakeJSON(w, http.StatusOK, `{"valid":true,"exchange_token":"et_1","user":{"name":"A","login":"a","avatar_url":""}}`)
	case rec.Path == "/outstatic/auth/refresh-token":
		fakeJSON(w, http.StatusOK, `{"session":{"access_token":"at_2","expires_at":1900000000}}`)
	case rec.Path == "/outstatic/scan":
		w.Header().Set("Content-Type", "application/x-scan")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "scanned")
	case rec.Path == "/outstatic/generate":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "completion")
	case rec.Path == "/github/parser":
		fakeJSON(w, http.StatusOK, `{"data":{"repository":{"id":"R_1"}}}`)
	case strings.HasPrefix(rec.Path, "/outstatic/media/"):
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G'})
	default:
		http.NotFound(w, r)
	}
}

func (s *fakeService) record(rec seen) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, rec)
}

func fakeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
