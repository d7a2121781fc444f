// Package fakeai is an OpenAI-compatible chat completions endpoint for tests:
// it streams a scripted answer chunk by chunk, as slowly as told, can refuse,
// hang, send garbage or drop the connection, and records what it was asked.
package fakeai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Chunk is one step of a scripted stream.
type Chunk struct {
	// Content is sent as choices[0].delta.content.
	Content string
	// Finish, if set, is sent as choices[0].finish_reason.
	Finish string
	// Raw, if set, is sent as the data line instead (a malformed chunk).
	Raw string
	// Delay is waited before sending.
	Delay time.Duration
	// Wait, if set, is waited on before sending: a test closes it once it
	// has seen what came before.
	Wait <-chan struct{}
}

// Reply scripts the answer to one request.
type Reply struct {
	// Status, if not 2xx, is answered with Body instead of a stream.
	Status int
	Body   string
	// ContentType overrides text/event-stream.
	ContentType string
	// HeaderDelay is waited before the response headers; HangHeaders never
	// sends them (until the client goes away).
	HeaderDelay time.Duration
	HangHeaders bool
	// Chunks are streamed in order.
	Chunks []Chunk
	// Done sends data: [DONE] after the chunks.
	Done bool
	// HangAfter holds the connection open after the chunks, sending nothing.
	HangAfter bool
	// KeepAlive, if set, sends an SSE comment this often after the chunks,
	// for ever: a stream that is alive but says nothing.
	KeepAlive time.Duration
	// Reset drops the connection after the chunks, mid-body.
	Reset bool
}

// Request is what the endpoint recorded of one call.
type Request struct {
	Path          string
	Authorization string
	Model         string
	Stream        bool
	MaxTokens     int
	Messages      []struct{ Role, Content string }
}

// Server is the fake endpoint; BaseURL is what a client configures.
type Server struct {
	*httptest.Server
	BaseURL string

	mu       sync.Mutex
	reply    Reply
	requests []Request
	sent     int
}

// New starts a server answering every request with reply; Close it.
func New(reply Reply) *Server {
	s := &Server{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.BaseURL = s.URL + "/v1"
	return s
}

// SetReply changes the script for the next requests.
func (s *Server) SetReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = r
}

// Requests returns what was asked so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Sent is how many chunks have been sent so far, over all requests. A
// chunk counts from the moment it starts leaving: counted after the flush,
// a fast client could read it before the count moved.
func (s *Server) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var rec Request
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in struct {
		Model     string `json:"model"`
		Stream    bool   `json:"stream"`
		MaxTokens int    `json:"max_tokens"`
		Messages  []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(body, &in)
	rec.Path, rec.Authorization = r.URL.Path, r.Header.Get("Authorization")
	rec.Model, rec.Stream, rec.MaxTokens = in.Model, in.Stream, in.MaxTokens
	for _, m := range in.Messages {
		rec.Messages = append(rec.Messages, struct{ Role, Content string }{m.Role, m.Content})
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	reply := s.reply
	s.mu.Unlock()

	ctx := r.Context()
	if reply.HangHeaders {
		<-ctx.Done()
		return
	}
	if !sleep(ctx.Done(), reply.HeaderDelay) {
		return
	}
	if reply.Status != 0 && (reply.Status < 200 || reply.Status > 299) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
		return
	}
	ct := reply.ContentType
	if ct == "" {
		ct = "text/event-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for i, c := range reply.Chunks {
		if c.Wait != nil {
			select {
			case <-c.Wait:
			case <-ctx.Done():
				return
			}
		}
		if !sleep(ctx.Done(), c.Delay) {
			return
		}
		data := c.Raw
		if data == "" {
			data = chunkJSON(i, c)
		}
		s.mu.Lock()
		s.sent++
		s.mu.Unlock()
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	switch {
	case reply.Reset:
		// Aborting makes net/http close the connection without ending the
		// chunked body: the client reads an unexpected EOF.
		panic(http.ErrAbortHandler)
	case reply.HangAfter:
		<-ctx.Done()
	case reply.KeepAlive > 0:
		for sleep(ctx.Done(), reply.KeepAlive) {
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	case reply.Done:
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		_ = rc.Flush()
	}
}

func chunkJSON(i int, c Chunk) string {
	var finish any
	if c.Finish != "" {
		finish = c.Finish
	}
	b, _ := json.Marshal(map[string]any{
		"id":      fmt.Sprintf("chatcmpl-%d", i),
		"object":  "chat.completion.chunk",
		"created": 1700000000,
		"model":   "fake",
		"choices": []any{map[string]any{
			"index":         0,
			"delta":         map[string]any{"content": c.Content},
			"finish_reason": finish,
		}},
	})
	return string(b)
}

// sleep waits d, or less if done closes; it reports whether d elapsed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
