// Package mail sends the relay's login (magic link) and invitation e-mails
// over SMTP.
//
// Native mode answers request-magic-link itself, so the relay has to deliver
// the link: this package turns a link into a small plain-text + HTML message
// and hands it to the operator's SMTP relay with github.com/wneessen/go-mail.
// It is deliberately strict: transport security is required unless switched
// off by name, every address is parsed with net/mail, no header value may
// carry CR or LF, and nothing here logs (links carry one-time tokens and the
// configuration carries a password).
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes for Config.TLS.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS; a
	// server that does not offer it is refused (no silent fallback to
	// plain text). The usual submission port is 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit = "implicit"
	// TLSNone never uses TLS. Credentials are then allowed only towards a
	// loopback relay, since they would cross the network in clear.
	TLSNone = "none"
)

// DefaultTimeout bounds one Send when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says how to reach the SMTP relay and whom mail comes from.
type Config struct {
	// Addr is the relay as "host:port", e.g. "smtp.example.com:587".
	Addr string `json:"addr,omitempty"`
	// Username and Password authenticate with AUTH PLAIN when Username is
	// set. Never logged.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// From is the sender, e.g. "Blog <login@example.com>".
	From string `json:"from,omitempty"`
	// TLS is "starttls" (default), "implicit" or "none".
	TLS string `json:"tls,omitempty"`
	// Timeout bounds connecting and the whole SMTP conversation of one
	// message; default 30s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// TLSConfig, if set, is used as the base TLS configuration (RootCAs
	// for a private CA, or a test certificate). ServerName defaults to the
	// host of Addr; verification is never switched off by this package.
	TLSConfig *tls.Config `json:"-"`
}

// Message is one e-mail: a single recipient, a subject, and the same content
// as plain text and HTML. LoginMessage and InvitationMessage build them.
type Message struct {
	// To is the recipient, "addr@example.com" or "Name <addr@example.com>".
	To string
	// Subject is the subject line; no CR or LF.
	Subject string
	// Text is the text/plain part; HTML the text/html alternative.
	Text, HTML string
}

// Sender sends messages through one SMTP relay. It is safe for concurrent
// use: every Send opens its own connection, which suits the low volume of
// login mail and keeps one stuck conversation from blocking others.
type Sender struct {
	cfg  Config
	host string
	port int
	from *netmail.Address
}

// NewSender checks cfg and returns a Sender for it.
func NewSender(cfg Config) (*Sender, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp addr %q: %v", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 || host == "" {
		return nil, fmt.Errorf("smtp addr %q: want host:port", cfg.Addr)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp tls %q: want starttls, implicit or none", cfg.TLS)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("smtp timeout %v: must not be negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("smtp password given without a username")
	}
	if hasCRLF(cfg.Username) || hasCRLF(cfg.Password) {
		return nil, errors.New("smtp credentials must not contain CR or LF")
	}
	if cfg.TLS == TLSNone && cfg.Username != "" && !isLoopback(host) {
		return nil, fmt.Errorf("smtp tls none with credentials: only allowed towards a loopback relay, not %q", host)
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from: %v", err)
	}
	return &Sender{cfg: cfg, host: host, port: port, from: from}, nil
}

// domain is the part of the sender's address after the @.
func (s *Sender) domain() string {
	_, d, _ := strings.Cut(s.from.Address, "@")
	return d
}

// From is the parsed sender address.
func (s *Sender) From() *netmail.Address { return s.from }

// Send delivers m, returning once the relay has accepted it, or an error
// after at most the configured timeout (or ctx's deadline, if sooner).
// Errors never contain the message body, so a link's token does not reach
// logs through them.
func (s *Sender) Send(ctx context.Context, m Message) error {
	to, err := parseAddress(m.To)
	if err != nil {
		return fmt.Errorf("recipient: %v", err)
	}
	if hasCRLF(m.Subject) || hasControl(m.Subject) {
		return errors.New("subject must not contain control characters")
	}
	if strings.TrimSpace(m.Subject) == "" || m.Text == "" || m.HTML == "" {
		return errors.New("message needs a subject, a text part and an HTML part")
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	// The Message-ID names the sender's domain rather than this machine's
	// host name, which go-mail would use and which says nothing useful.
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.domain())
	msg.SetDate()
	// Login mail is machine-made: ask vacation responders not to answer it
	// (RFC 3834).
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	// go-mail honours the context only while dialling; after that its
	// connection deadline rules. So the deadline given to it is the sooner
	// of the configured timeout and ctx's, and a cancelled ctx returns at
	// once while the conversation runs out its (bounded) deadline alone.
	timeout := s.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return fmt.Errorf("sending mail via %s: %w", s.cfg.Addr, context.DeadlineExceeded)
		}
		timeout = min(timeout, left)
	}
	var conn sendConn
	defer conn.close()
	client, err := s.client(timeout, &conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.DialAndSendWithContext(ctx, msg) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("sending mail via %s: %w", s.cfg.Addr, err)
	}
	return nil
}

// sendConn is the connection of one Send, kept so that Send closes it
// however the conversation ends: go-mail leaves it open when the server
// fails the conversation after its greeting (EHLO, STARTTLS, AUTH), and a
// server that greets and then hangs would hold it until a garbage
// collection. Closing it also ends at once a conversation Send stopped
// waiting for.
type sendConn struct {
	mu   sync.Mutex
	conn net.Conn
}

// dial opens the connection as go-mail would (TLS from the first byte
// when implicit) and keeps it.
func (c *sendConn) dial(tlsConf *tls.Config, implicit bool) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		var conn net.Conn
		var err error
		if implicit {
			conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, network, addr)
		} else {
			conn, err = d.DialContext(ctx, network, addr)
		}
		if err == nil {
			c.mu.Lock()
			c.conn = conn
			c.mu.Unlock()
		}
		return conn, err
	}
}

// close closes the connection, if one was opened; after a conversation
// that ended well it is closed already, and closing again does nothing.
func (c *sendConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

func (s *Sender) client(timeout time.Duration, conn *sendConn) (*gomail.Client, error) {
	var tlsConf *tls.Config
	if s.cfg.TLSConfig != nil {
		tlsConf = s.cfg.TLSConfig.Clone()
	} else {
		tlsConf = &tls.Config{}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = s.host
	}
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(conn.dial(tlsConf, s.cfg.TLS == TLSImplicit)),
	}
	switch s.cfg.TLS {
	case TLSStartTLS:
		// Mandatory, not opportunistic: a relay (or an attacker in the
		// path) that hides STARTTLS must not get the password or the link.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		// PLAIN refuses to send credentials without TLS unless the relay
		// is on localhost, which matches NewSender's rule for "none".
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %v", err)
	}
	return c, nil
}

// parseAddress accepts exactly one RFC 5322 address with no CR or LF.
func parseAddress(s string) (*netmail.Address, error) {
	if s == "" {
		return nil, errors.New("empty address")
	}
	if hasCRLF(s) || hasControl(s) {
		return nil, errors.New("address contains control characters")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %v", s, err)
	}
	if hasCRLF(a.Name) || hasControl(a.Name) || hasCRLF(a.Address) || hasControl(a.Address) {
		// Encoded words can decode to control characters.
		return nil, errors.New("address contains control characters")
	}
	return a, nil
}

// ValidAddress reports whether s is one e-mail address this package would
// send to; request handlers use it before spending a rate-limit token.
func ValidAddress(s string) bool {
	_, err := parseAddress(s)
	return err == nil
}

func hasCRLF(s string) bool { return strings.ContainsAny(s, "\r\n") }

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsTemporary reports whether err from Send is worth retrying later: the
// relay answered with a 4xx code, or could not be reached in time. The
// relay's handler can then answer "try again" rather than "failed".
func IsTemporary(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.IsTemp()
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
