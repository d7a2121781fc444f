// Package fakeservice is a local stand-in for the hosted Outstatic service,
// for tests: it speaks the endpoints of PROTOCOL.md with the real service's
// checks (keys, callback origins, one-time exchange tokens bound to their
// callback) and records every request it gets. Switches make it answer
// 401, 500, malformed JSON, slowly, or not at all. Its GraphQL parser
// serves a small in-memory repository to the sessions it issued, enough
// for the stock dashboard to load.
package fakeservice

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Mode makes every keyed endpoint misbehave.
type Mode int

// The modes.
const (
	Normal    Mode = iota
	Unauth         // 401 invalid-api-key
	Fail           // 500
	Malformed      // 200 with a body that is not JSON
	Hang           // never answer (until Release)
)

// Request is a recorded request.
type Request struct {
	Method, Path, Authorization string
	Header                      http.Header
	Body                        map[string]any
}

// Service is the fake. Its zero value is not usable; use New.
type Service struct {
	// Key is the accepted API key; Pro is its is_pro.
	Key string
	Pro bool
	// ProjectID is the project's id.
	ProjectID string
	// Targets are the project's callback origins, checked like the real
	// service checks them.
	Targets validate.Targets
	// Email is the user an exchange token logs in.
	Email string
	// Permissions are the user's; default content.manage.
	Permissions []string
	// Repo is what the GraphQL parser serves; default DefaultRepo().
	Repo *Repo
	// Delay is added before every answer.
	Delay time.Duration

	mu      sync.Mutex
	mode    Mode
	reqs    []Request
	tokens  map[string]string // exchange token → callback it is bound to
	access  map[string]bool   // access tokens of the sessions issued
	release chan struct{}
	// BaseURL is where the fake listens, set by the test; the authorize
	// URL it hands out points there.
	BaseURL string
}

// New returns a fake for key with callback origins origins.
func New(key string, pro bool, origins ...string) *Service {
	s := &Service{Key: key, Pro: pro, ProjectID: "proj_1", Email: "ada@example.com",
		Permissions: []string{"content.manage"}, Repo: DefaultRepo(),
		tokens: map[string]string{}, access: map[string]bool{}, release: make(chan struct{})}
	for _, o := range origins {
		parsed, err := validate.ParseOrigin(o)
		if err != nil {
			panic(err)
		}
		s.Targets.Origins = append(s.Targets.Origins, parsed)
	}
	return s
}

// SetMode switches how keyed endpoints answer.
func (s *Service) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Release lets every hung request go (they answer 503) and ends Hang.
func (s *Service) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == Hang {
		s.mode = Normal
	}
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Requests returns what was recorded so far.
func (s *Service) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count returns how many requests had the path.
func (s *Service) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// ServeHTTP answers as the service would. Paths are those of PROTOCOL.md,
// under /api (so the base URL is <server>/api).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api"), Authorization: r.Header.Get("Authorization"), Header: r.Header.Clone()}
	if r.Method == http.MethodPost && strings.Contains(r.Header.Get("Content-Type"), "json") {
		data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(data, &rec.Body)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	mode, release := s.mode, s.release
	s.mu.Unlock()
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}

	if rec.Path == "/authorize" {
		s.authorize(w, r)
		return
	}
	if rec.Path == "/github/parser" {
		// called by the browser with a user's session token, not the key
		s.parser(w, r, rec)
		return
	}
	keyed := rec.Path != "/outstatic/auth/exchange-token" && rec.Path != "/outstatic/auth/refresh-token"
	if keyed {
		switch mode {
		case Hang:
			select {
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "released", http.StatusServiceUnavailable)
			return
		case Fail:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal"})
			return
		case Malformed:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"project_id": `)
			return
		}
		if mode == Unauth || rec.Authorization != "Bearer "+s.Key {
			msg := "invalid-api-key"
			if rec.Path == "/outstatic/auth/request-magic-link" {
				msg = "Invalid API key"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
			return
		}
	}
	switch rec.Path {
	case "/outstatic/project":
		writeJSON(w, http.StatusOK, map[string]any{
			"project_id": s.ProjectID, "project_slug": "blog", "account_slug": "acme",
			"repo_owner": "acme", "repo_slug": "blog", "monorepo_path": "", "is_pro": s.Pro,
		})
	case "/outstatic/auth/github-exchange":
		s.startLogin(w, str(rec.Body, "callback_url"))
	case "/outstatic/auth/google-exchange":
		s.startLogin(w, str(rec.Body, "callbackUrl"))
	case "/outstatic/auth/request-magic-link":
		if _, err := s.Targets.Check(str(rec.Body, "callbackUrl")); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.(*validate.Error).Code})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	case "/outstatic/auth/exchange-token":
		s.exchange(w, str(rec.Body, "exchange_token"), str(rec.Body, "callback_url"))
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not-found"})
	}
}

// startLogin checks the callback as the service does and hands out an
// authorize URL on the fake itself.
func (s *Service) startLogin(w http.ResponseWriter, callback string) {
	t, err := s.Targets.Check(callback)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.(*validate.Error).Code})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": s.BaseURL + "/api/authorize?callback=" + url.QueryEscape(t.URL)})
}

// authorize plays the provider's round trip: it mints a token bound to the
// callback and sends the browser there.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request) {
	cb := r.URL.Query().Get("callback")
	if _, err := s.Targets.Check(cb); err != nil {
		http.Error(w, "bad callback", http.StatusBadRequest)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := "xt_" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = cb
	s.mu.Unlock()
	http.Redirect(w, r, cb+"?exchange_token="+token, http.StatusFound)
}

// Mint issues an exchange token bound to callback, as a finished login would.
func (s *Service) Mint(callback string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := "xt_" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = callback
	s.mu.Unlock()
	return token
}

// exchange redeems a token once, for exactly the callback it is bound to.
func (s *Service) exchange(w http.ResponseWriter, token, callback string) {
	s.mu.Lock()
	bound, ok := s.tokens[token]
	if ok && bound == callback {
		delete(s.tokens, token)
	}
	s.mu.Unlock()
	if !ok || bound != callback {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid-exchange-token"})
		return
	}
	now := time.Now().Unix()
	s.mu.Lock()
	s.access["at_"+token] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"user": map[string]any{"email": s.Email, "login": "ada", "name": "Ada", "avatar_url": "", "permissions": s.Permissions},
		"session": map[string]any{
			"access_token": "at_" + token, "refresh_token": "rt_" + token,
			"expires_at": now + 3600, "refresh_token_expires_at": now + 86400,
		},
	})
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
