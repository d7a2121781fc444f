package fakesmtp

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// A message as another client writes it (base64 parts, encoded subject)
// is captured and decoded.
func TestCapturesAndParses(t *testing.T) {
	s := Start(t, Options{Username: "u", Password: "p"})
	raw := strings.Join([]string{
		"From: a@example.com",
		"To: b@example.org",
		"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
		"MIME-Version: 1.0",
		`Content-Type: multipart/alternative; boundary="XX"`,
		"",
		"--XX",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: base64",
		"",
		"aGVsbG8g",
		"d29ybGQ=",
		"--XX",
		"Content-Type: text/html; charset=utf-8",
		"",
		"<p>hello</p>",
		"--XX--",
		"",
	}, "\r\n")
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	if err := smtp.SendMail(s.Addr, auth, "a@example.com", []string{"b@example.org", "c@example.org"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	m := s.Wait(t, 5*time.Second)
	if m.ParseErr != nil {
		t.Fatal(m.ParseErr)
	}
	if m.From != "a@example.com" || len(m.To) != 2 || m.Subject != "Grüße" || m.Text != "hello world" ||
		strings.TrimSpace(m.HTML) != "<p>hello</p>" || m.ContentType != "multipart/alternative" {
		t.Fatalf("%+v", m)
	}
}

func TestAuthRequired(t *testing.T) {
	s := Start(t, Options{Username: "u", Password: "p"})
	err := smtp.SendMail(s.Addr, nil, "a@example.com", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.Contains(err.Error(), "authenticate") {
		t.Fatalf("err %v", err)
	}
	if s.Pending() != 0 {
		t.Fatal("captured")
	}
}

// Close releases connections held by Hang, so a test never waits on them.
func TestHangAndClose(t *testing.T) {
	s := Start(t, Options{})
	s.Hang(true)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("greeted while hanging: %d %v", n, err)
	}
	s.Close()
	_ = c.SetReadDeadline(time.Now().Add(testwait.Bound))
	if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("held connection not closed: %v", err)
	}
}
