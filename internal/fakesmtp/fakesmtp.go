// Package fakesmtp is an SMTP server for tests: it listens on 127.0.0.1 on a
// random port, speaks plain SMTP, STARTTLS or implicit TLS with a certificate
// made at start, optionally requires AUTH PLAIN, captures every message it
// accepts (parsed into subject, text and HTML parts) and can be told to fail
// in the ways a real relay fails: refused credentials, 4xx/5xx on DATA, or a
// server that accepts the connection and then says nothing.
//
// It exists so the mail package is tested end to end against a real SMTP
// conversation instead of a mocked client.
package fakesmtp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// Mode is the transport security the server offers.
type Mode int

const (
	// Plain is SMTP without TLS; STARTTLS is not offered.
	Plain Mode = iota
	// StartTLS offers the STARTTLS extension on a plain connection.
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465 style).
	ImplicitTLS
)

// Options configure a Server.
type Options struct {
	// Mode is the transport security offered; Plain by default.
	Mode Mode
	// Username and Password, when Username is set, make AUTH PLAIN
	// mandatory before MAIL FROM and the only credentials accepted.
	Username, Password string
}

// Server is a running fake SMTP server. Its failure switches may be flipped
// while it runs; they apply to the next command that checks them.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// RootCAs trusts the server's certificate; give it to the client's
	// tls.Config.
	RootCAs *x509.CertPool

	opts Options
	srv  *smtp.Server
	ln   net.Listener
	msgs chan Message

	mu         sync.Mutex
	refuseAuth bool
	dataErr    *smtp.SMTPError
	hang       bool
	held       []net.Conn
	closed     bool
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cert, pool, err := SelfSigned()
	if err != nil {
		t.Fatalf("fakesmtp: making certificate: %v", err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakesmtp: listening: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), RootCAs: pool, opts: opts, msgs: make(chan Message, 64)}

	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "fakesmtp.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	// Refused handshakes are expected in tests; keep them out of the output.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	// Plain mode still accepts AUTH so a client configured for a local relay
	// without TLS can be tested; TLS modes need no exception.
	srv.AllowInsecureAuth = opts.Mode == Plain
	var l net.Listener = &hangListener{Listener: ln, s: s}
	switch opts.Mode {
	case StartTLS:
		srv.TLSConfig = tlsConf
	case ImplicitTLS:
		srv.TLSConfig = tlsConf
		l = tls.NewListener(l, tlsConf)
	}
	s.srv, s.ln = srv, ln
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and drops held connections.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, c := range held {
		_ = c.Close()
	}
	_ = s.srv.Close()
}

// RefuseAuth makes every AUTH attempt fail with 535.
func (s *Server) RefuseAuth(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseAuth = refuse
}

// FailData makes DATA answer with code (a 4xx or 5xx); 0 accepts again.
func (s *Server) FailData(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.dataErr = nil
		return
	}
	s.dataErr = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "fakesmtp: told to fail"}
}

// Hang makes new connections be accepted and then left silent: no greeting,
// no answer, until the server closes. This is what a firewalled or wedged
// relay looks like to a client.
func (s *Server) Hang(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = hang
}

// Held returns how many connections the server holds silent.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Drop closes the connections held so far: their clients see the server
// go away. It does not end Hang for the connections to come.
func (s *Server) Drop() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, c := range held {
		_ = c.Close()
	}
}

// Wait returns the next captured message, or fails the test after timeout,
// or testwait.Bound if that is longer: a message that comes later than
// its caller expected is late, not missing, and a test does not fail on
// a busy machine for it.
func (s *Server) Wait(t testing.TB, timeout time.Duration) Message {
	t.Helper()
	timeout = max(timeout, testwait.Bound)
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(timeout):
		t.Fatalf("fakesmtp: no message within %v", timeout)
		return Message{}
	}
}

// Pending returns how many captured messages have not been waited for.
func (s *Server) Pending() int { return len(s.msgs) }

// hangListener holds connections instead of serving them while the server
// is told to hang.
type hangListener struct {
	net.Listener
	s *Server
}

func (l *hangListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		if !l.s.hang {
			l.s.mu.Unlock()
			return c, nil
		}
		if l.s.closed {
			l.s.mu.Unlock()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		l.s.held = append(l.s.held, c)
		l.s.mu.Unlock()
	}
}

type backend struct{ s *Server }

func (b *backend) NewSession(_ *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s}, nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		ss.s.mu.Lock()
		refuse := ss.s.refuseAuth
		ss.s.mu.Unlock()
		if refuse || ss.s.opts.Username == "" || username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	dataErr := ss.s.dataErr
	ss.s.mu.Unlock()
	if dataErr != nil {
		return dataErr
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Raw: raw}
	m.ParseErr = m.parse(bytes.NewReader(raw))
	select {
	case ss.s.msgs <- m:
		return nil
	default:
		return errors.New("fakesmtp: capture buffer full")
	}
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
