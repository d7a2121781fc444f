package completion

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout   = 30 * time.Second
	DefaultMaxDuration   = 5 * time.Minute
	DefaultMaxOutput     = 64 << 10
	// MaxChunkLine bounds one line of the endpoint's event stream. A chunk
	// carries a few tokens; 64 KiB is generous and keeps a broken or hostile
	// endpoint from growing the buffer without end.
	MaxChunkLine = 64 << 10
)

// The texts the dashboard shows. They are ours and fixed: the endpoint's
// own error body may hold the request, account details or the key's prefix.
const (
	textUnavailable = "The AI service is unavailable, try again later."
	textTimeout     = "The AI service did not answer in time, try again later."
	textBusy        = "The AI service is busy, try again in a minute."
	textConfig      = "The AI service refused the site's credentials; ask the site's administrator."
	textRefused     = "The AI service could not answer this request."
	textBroken      = "The AI answer broke off, try again."
	textFiltered    = "The AI service declined to answer this request."
)

// Config says which OpenAI-compatible endpoint answers and how patiently.
type Config struct {
	// BaseURL is the API root: the request goes to BaseURL + "/chat/completions"
	// (for OpenAI, https://api.openai.com/v1). Required.
	BaseURL string
	// APIKey is sent as a Bearer token; empty sends no Authorization header
	// (a local model server).
	APIKey string
	// Model names the model. Required.
	Model string
	// Client makes the requests; nil uses a client of its own. Its Timeout
	// should be zero: a completion streams for as long as it needs, and the
	// timeouts below bound each wait instead. Redirects are never followed,
	// whatever its CheckRedirect says.
	Client *http.Client
	// HeaderTimeout bounds the wait for the endpoint's response headers.
	// Default 30s.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait between two lines of the endpoint's
	// stream. Default 30s.
	IdleTimeout time.Duration
	// MaxDuration bounds a whole completion, however lively the endpoint
	// keeps the connection (keep-alive comments reset the idle timeout).
	// Default 5m.
	MaxDuration time.Duration
	// MaxOutput bounds the completion's text, in bytes; past it the answer
	// ends as if the model had stopped. Default 64 KiB.
	MaxOutput int
	// MaxTokens, if positive, is sent as max_tokens.
	MaxTokens int
}

// Streamer answers completion requests from one endpoint. It is safe for
// concurrent use.
type Streamer struct {
	cfg      Config
	endpoint string
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Streamer, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("completion base URL must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("completion base URL must not have userinfo, a query or a fragment")
	}
	if cfg.Model == "" {
		return nil, errors.New("completion model is required")
	}
	if cfg.HeaderTimeout < 0 || cfg.IdleTimeout < 0 || cfg.MaxDuration < 0 || cfg.MaxOutput < 0 || cfg.MaxTokens < 0 {
		return nil, errors.New("completion timeouts and limits must not be negative")
	}
	// A copy, whose redirects are not followed: the prompt goes to the
	// configured endpoint only (a 307 or 308 would send it on to wherever
	// it points), and a redirect is answered as an unavailable endpoint.
	client := http.Client{}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &client
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = DefaultMaxDuration
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	return &Streamer{cfg: cfg, endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions"}, nil
}

// ServeHTTP reads a completion request from r's body and streams the answer:
// 400 (413 when too large) with a plain-text reason for a body it refuses,
// 405 for another method.
// Authentication and rate limiting are the caller's.
func (s *Streamer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "completion requests are POSTed")
		return
	}
	req, err := ReadRequest(r.Body)
	if err != nil {
		RefuseRequest(w, err)
		return
	}
	_ = s.Stream(r.Context(), w, req)
}

// RefuseRequest answers a body ReadRequest or ParseRequest refused: 413
// when it is too large, else 400, with the reason as plain text.
func RefuseRequest(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	plain(w, status, err.Error())
}

// Error is what Stream returns when the completion failed; Status is the
// status answered, or 200 if the failure came after streaming began.
type Error struct {
	Status int
	// Err is the cause, for the log. It never holds the endpoint's body nor
	// the key.
	Err error
}

func (e *Error) Error() string { return "completion: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// upstream chat completion request.
type chatRequest struct {
	Model     string    `json:"model"`
	Messages  []Message `json:"messages"`
	Stream    bool      `json:"stream"`
	MaxTokens int       `json:"max_tokens,omitempty"`
}

// one chunk of the endpoint's stream; only what is read.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Error json.RawMessage `json:"error"`
}

var (
	errHeaderTimeout = errors.New("no response headers within the header timeout")
	errIdleTimeout   = errors.New("no data within the idle timeout")
	errMaxDuration   = errors.New("completion ran past its maximum duration")
)

// Stream asks the endpoint for the completion of req (already validated) and
// writes it to w as the AI SDK's UI message stream, one event per piece as
// the piece arrives, flushing after each. If the endpoint refuses or cannot be
// reached, nothing is streamed: w gets a non-2xx status and a short plain-text
// message, which the dashboard shows. If the stream breaks later, w gets an
// error event and the stream ends. The returned error is an *Error, or nil.
func (s *Streamer) Stream(ctx context.Context, w http.ResponseWriter, req Request) error {
	if err := req.Validate(); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		plain(w, status, err.Error())
		return &Error{Status: status, Err: err}
	}
	body, err := json.Marshal(chatRequest{Model: s.cfg.Model, Messages: Messages(req), Stream: true, MaxTokens: s.cfg.MaxTokens})
	if err != nil {
		plain(w, http.StatusInternalServerError, textUnavailable)
		return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("encoding chat request: %v", err)}
	}

	// One cancel for both timeouts: the timer fires it with the cause, and
	// whatever read is pending returns.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var streaming atomic.Bool
	timer := time.AfterFunc(s.cfg.HeaderTimeout, func() {
		if streaming.Load() {
			cancel(errIdleTimeout)
		} else {
			cancel(errHeaderTimeout)
		}
	})
	defer timer.Stop()
	overall := time.AfterFunc(s.cfg.MaxDuration, func() { cancel(errMaxDuration) })
	defer overall.Stop()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		plain(w, http.StatusInternalServerError, textUnavailable)
		return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("building chat request: %v", err)}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if s.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
	}
	resp, err := s.cfg.Client.Do(hreq)
	if err != nil {
		cause := context.Cause(ctx)
		if errors.Is(cause, errHeaderTimeout) || errors.Is(cause, errMaxDuration) {
			plain(w, http.StatusGatewayTimeout, textTimeout)
			return &Error{Status: http.StatusGatewayTimeout, Err: fmt.Errorf("calling the AI endpoint: %w", cause)}
		}
		plain(w, http.StatusBadGateway, textUnavailable)
		// The url.Error names the endpoint, not the key: safe to log.
		return &Error{Status: http.StatusBadGateway, Err: fmt.Errorf("calling the AI endpoint: %w", err)}
	}
	defer resp.Body.Close()

	if status, text, ok := refusal(resp); !ok {
		plain(w, status, text)
		return &Error{Status: status, Err: fmt.Errorf("AI endpoint answered %d (%s)", resp.StatusCode, resp.Header.Get("Content-Type"))}
	}

	streaming.Store(true)
	timer.Reset(s.cfg.IdleTimeout)
	out := &uiStream{w: w, rc: http.NewResponseController(w), id: newID()}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Vercel-Ai-Ui-Message-Stream", "v1")
	// A buffering proxy in front (nginx) would defeat the point of streaming.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := out.events(`{"type":"start"}`, out.textEvent("text-start", "")); err != nil {
		return &Error{Status: http.StatusOK, Err: err}
	}

	fail := func(text string, err error) error {
		_ = out.events(errorEvent(text), "[DONE]")
		return &Error{Status: http.StatusOK, Err: err}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4<<10), MaxChunkLine)
	written := 0
	for sc.Scan() {
		timer.Reset(s.cfg.IdleTimeout)
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			// Blank separators, ": keep-alive" comments, event: and id:
			// lines carry nothing for us.
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			return out.finish()
		}
		var chunk chatChunk
		if err := json.Unmarshal(data, &chunk); err != nil {
			return fail(textBroken, errors.New("AI endpoint sent a malformed chunk"))
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" {
			return fail(textRefused, errors.New("AI endpoint sent an error in its stream"))
		}
		finish := ""
		// Only the first choice is the answer; n is never asked for.
		if len(chunk.Choices) > 0 {
			c := chunk.Choices[0]
			piece := c.Delta.Content
			if written+len(piece) > s.cfg.MaxOutput {
				piece = truncateBytes(piece, s.cfg.MaxOutput-written)
				finish = "length"
			}
			if piece != "" {
				written += len(piece)
				if err := out.events(out.textEvent("text-delta", piece)); err != nil {
					return &Error{Status: http.StatusOK, Err: err}
				}
			}
			if c.FinishReason != nil && *c.FinishReason != "" && finish == "" {
				finish = *c.FinishReason
			}
		}
		switch finish {
		case "":
			continue
		case "content_filter":
			return fail(textFiltered, errors.New("AI endpoint stopped on its content filter"))
		default:
			// stop, length (truncated but still useful text), or anything
			// else that says the answer is over: it is, whether or not
			// [DONE] follows (some servers send usage chunks first).
			return out.finish()
		}
	}
	err = sc.Err()
	if cause := context.Cause(ctx); errors.Is(cause, errIdleTimeout) || errors.Is(cause, errHeaderTimeout) || errors.Is(cause, errMaxDuration) {
		return fail(textTimeout, fmt.Errorf("reading the AI stream: %w", cause))
	}
	if errors.Is(err, bufio.ErrTooLong) {
		return fail(textBroken, fmt.Errorf("AI endpoint sent a line over %d bytes", MaxChunkLine))
	}
	if err != nil {
		return fail(textBroken, fmt.Errorf("reading the AI stream: %w", err))
	}
	return fail(textBroken, errors.New("AI stream ended without [DONE]"))
}

// refusal maps a response that is not a usable stream to the status and text
// the dashboard gets; ok is true for a 2xx event stream.
func refusal(resp *http.Response) (status int, text string, ok bool) {
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return http.StatusBadGateway, textConfig, false
	case resp.StatusCode == http.StatusTooManyRequests:
		return http.StatusTooManyRequests, textBusy, false
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusGatewayTimeout:
		return http.StatusGatewayTimeout, textTimeout, false
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return http.StatusBadGateway, textRefused, false
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return http.StatusBadGateway, textUnavailable, false
	}
	// A JSON body with a 2xx status is a server that ignored stream:true or
	// reports errors that way; either way there is nothing to stream.
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/event-stream" {
			return http.StatusBadGateway, textUnavailable, false
		}
	}
	return 0, "", true
}

// uiStream writes the AI SDK UI message stream.
type uiStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	id string
}

// events writes each payload as one SSE event and flushes once they are all
// written, so a reader never waits on our buffer.
func (u *uiStream) events(payloads ...string) error {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: ")
		b.WriteString(p)
		b.WriteString("\n\n")
	}
	if _, err := io.WriteString(u.w, b.String()); err != nil {
		return fmt.Errorf("writing to the client: %w", err)
	}
	// A writer that cannot flush still gets every byte, only later;
	// anything else is a client that went away.
	if err := u.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("flushing to the client: %w", err)
	}
	return nil
}

func (u *uiStream) finish() error {
	if err := u.events(u.textEvent("text-end", ""), `{"type":"finish"}`, "[DONE]"); err != nil {
		return &Error{Status: http.StatusOK, Err: err}
	}
	return nil
}

// textEvent encodes a text-start, text-delta or text-end event; the field
// order is the one the AI SDK writes.
func (u *uiStream) textEvent(typ, delta string) string {
	ev := struct {
		Type  string  `json:"type"`
		ID    string  `json:"id"`
		Delta *string `json:"delta,omitempty"`
	}{Type: typ, ID: u.id}
	if typ == "text-delta" {
		ev.Delta = &delta
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func errorEvent(text string) string {
	b, _ := json.Marshal(struct {
		Type      string `json:"type"`
		ErrorText string `json:"errorText"`
	}{"error", text})
	return string(b)
}

// plain answers a short text the dashboard shows as it is.
func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "txt-" + hex.EncodeToString(b[:])
}

// truncateBytes cuts s to at most n bytes without splitting a character.
func truncateBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
