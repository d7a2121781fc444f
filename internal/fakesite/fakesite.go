// Package fakesite is a local stand-in for a stock Outstatic site behind a
// proxy, for tests that cannot run Node: like the real one (outstatic
// 2.2.4 on next 16, see testdata/stock-site/FACTS.md) it names itself by
// its listen address in every callback it sends and every redirect it
// makes, whatever Host it was asked on, and redeems exchange tokens with
// that wrong callback. It records the requests that reach it.
package fakesite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Site is the fake site.
type Site struct {
	// Self is the origin the site believes it has, e.g. http://localhost:3000.
	Self string
	// APIURL is its OUTSTATIC_API_URL.
	APIURL string
	// APIKey is its OUTSTATIC_API_KEY.
	APIKey string
	// Dial, when set, is where every outbound connection goes (so that a
	// name such as blog.localhost reaches a loopback listener).
	Dial string

	mu   sync.Mutex
	seen []*http.Request
}

// Seen returns the requests that reached the site.
func (s *Site) Seen() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

func (s *Site) client() *http.Client {
	tr := &http.Transport{}
	if s.Dial != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, s.Dial)
		}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func (s *Site) call(path string, key bool, body any) (int, map[string]any) {
	payload, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(s.APIURL, "/")+path, bytes.NewReader(payload))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if key {
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
	}
	res, err := s.client().Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// ServeHTTP answers the routes a relay login touches.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Clone(context.Background()))
	s.mu.Unlock()
	// Like next, it honours X-Forwarded-Proto and nothing else.
	self := s.Self
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" {
		self = "https://" + strings.TrimPrefix(strings.TrimPrefix(self, "http://"), "https://")
	}
	switch r.URL.Path {
	case "/api/outstatic/login":
		status, out := s.call("/outstatic/auth/github-exchange", true, map[string]string{"callback_url": self + "/api/outstatic/callback"})
		w.Header().Set("Content-Type", "application/json")
		if u, ok := out["url"].(string); ok && status == 200 {
			_ = json.NewEncoder(w).Encode(map[string]string{"url": u})
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"github-relay-failed"}`)
	case "/api/outstatic/callback", "/api/outstatic/magic-link-callback":
		token := r.URL.Query().Get("exchange_token")
		if e := r.URL.Query().Get("error"); e != "" {
			http.Redirect(w, r, self+"/outstatic?error="+e, http.StatusTemporaryRedirect)
			return
		}
		status, out := s.call("/outstatic/auth/exchange-token", false, map[string]string{"exchange_token": token, "callback_url": self + r.URL.Path})
		session, _ := out["session"].(map[string]any)
		access, _ := session["access_token"].(string)
		if status != 200 || access == "" {
			http.Redirect(w, r, self+"/outstatic?error=session-error", http.StatusTemporaryRedirect)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "ost_token", Value: "session-for-" + access, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, self+"/outstatic", http.StatusTemporaryRedirect)
	case "/api/outstatic/signout":
		if r.Method != http.MethodPost || r.Header.Get("Origin") != self {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":"invalid-origin"}`)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "ost_token", Value: "", Path: "/", MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	default:
		fmt.Fprintf(w, "site page %s", r.URL.Path)
	}
}
