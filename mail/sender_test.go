package mail

import (
	"context"
	"crypto/tls"
	"html"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

const testLink = "https://blog.example.com/outstatic/api/outstatic/magic-link-callback?exchange_token=tok_AbC-123&x=1"

func loginMsg(t *testing.T, to string) Message {
	t.Helper()
	m, err := LoginMessage(Login{To: to, Site: "My Blog", Link: testLink, ValidFor: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newSender(t *testing.T, srv *fakesmtp.Server, mode string, user, pass string) *Sender {
	t.Helper()
	s, err := NewSender(Config{
		Addr: srv.Addr, Username: user, Password: pass, From: "Blog <login@example.com>",
		TLS: mode, Timeout: 3 * time.Second, TLSConfig: &tls.Config{RootCAs: srv.RootCAs},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendEachTLSMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  fakesmtp.Mode
		mode string
	}{
		{"starttls", fakesmtp.StartTLS, TLSStartTLS},
		{"default is starttls", fakesmtp.StartTLS, ""},
		{"implicit", fakesmtp.ImplicitTLS, TLSImplicit},
		{"none on loopback", fakesmtp.Plain, TLSNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakesmtp.Start(t, fakesmtp.Options{Mode: tc.srv, Username: "u", Password: "p"})
			s := newSender(t, srv, tc.mode, "u", "p")
			if err := s.Send(context.Background(), loginMsg(t, "Ann <ann@example.org>")); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.Wait(t, 5*time.Second)
			if got.ParseErr != nil {
				t.Fatalf("parse: %v", got.ParseErr)
			}
			if got.From != "login@example.com" || len(got.To) != 1 || got.To[0] != "ann@example.org" {
				t.Errorf("envelope from %q to %q", got.From, got.To)
			}
			if h := got.Header.Get("From"); h != `"Blog" <login@example.com>` && h != "Blog <login@example.com>" {
				t.Errorf("From header %q", h)
			}
			if h := got.Header.Get("To"); !strings.Contains(h, "<ann@example.org>") {
				t.Errorf("To header %q", h)
			}
			if id := got.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
				t.Errorf("Message-ID %q", id)
			}
			if got.Header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("Auto-Submitted %q", got.Header.Get("Auto-Submitted"))
			}
			if got.Subject != "Your sign-in link for My Blog" {
				t.Errorf("subject %q", got.Subject)
			}
			if got.ContentType != "multipart/alternative" {
				t.Errorf("content type %q", got.ContentType)
			}
			if n := strings.Count(got.Text, testLink); n != 1 {
				t.Errorf("link %d times in text:\n%s", n, got.Text)
			}
			if n := strings.Count(got.HTML, html.EscapeString(testLink)); n != 1 {
				t.Errorf("escaped link %d times in html:\n%s", n, got.HTML)
			}
			if strings.Contains(got.HTML, testLink) {
				t.Errorf("html has the link unescaped")
			}
			for _, want := range []string{"My Blog", "15 minutes", "ignore"} {
				if !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, want) {
					t.Errorf("%q missing from a part", want)
				}
			}
		})
	}
}

func TestStartTLSIsRequired(t *testing.T) {
	// A server offering no STARTTLS must not receive the message in clear.
	srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.Plain})
	s := newSender(t, srv, TLSStartTLS, "", "")
	if err := s.Send(context.Background(), loginMsg(t, "ann@example.org")); err == nil {
		t.Fatal("sent without STARTTLS")
	}
	if srv.Pending() != 0 {
		t.Fatal("server captured a message")
	}
}

func TestUntrustedCertificateRefused(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.ImplicitTLS})
	s, err := NewSender(Config{Addr: srv.Addr, From: "login@example.com", TLS: TLSImplicit, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), loginMsg(t, "ann@example.org")); err == nil {
		t.Fatal("sent to a server with an untrusted certificate")
	}
}

func TestSendFailures(t *testing.T) {
	t.Run("auth refused", func(t *testing.T) {
		srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS, Username: "u", Password: "p"})
		srv.RefuseAuth(true)
		err := newSender(t, srv, TLSStartTLS, "u", "p").Send(context.Background(), loginMsg(t, "ann@example.org"))
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "exchange_token") {
			t.Errorf("error leaks the link: %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS, Username: "u", Password: "p"})
		err := newSender(t, srv, TLSStartTLS, "u", "secret-pw").Send(context.Background(), loginMsg(t, "ann@example.org"))
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("error leaks the password: %v", err)
		}
	})
	for _, code := range []int{451, 554} {
		t.Run("data "+string(rune('0'+code/100))+"xx", func(t *testing.T) {
			srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS})
			srv.FailData(code)
			err := newSender(t, srv, TLSStartTLS, "", "").Send(context.Background(), loginMsg(t, "ann@example.org"))
			if err == nil {
				t.Fatal("no error")
			}
			if IsTemporary(err) != (code < 500) {
				t.Errorf("IsTemporary(%v) = %v", err, IsTemporary(err))
			}
		})
	}
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		s, err := NewSender(Config{Addr: addr, From: "login@example.com", Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), loginMsg(t, "ann@example.org")); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("hang is bounded by the timeout", func(t *testing.T) {
		srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS})
		srv.Hang(true)
		s, err := NewSender(Config{Addr: srv.Addr, From: "login@example.com", Timeout: 500 * time.Millisecond,
			TLSConfig: &tls.Config{RootCAs: srv.RootCAs}})
		if err != nil {
			t.Fatal(err)
		}
		// The server holds the connection until the test ends: only the
		// timeout can end Send, and its error says it did.
		err = sendWithin(t, s, context.Background())
		if err == nil {
			t.Fatal("no error")
		}
		if !IsTemporary(err) {
			t.Errorf("a timeout is not temporary: %v", err)
		}
	})
	t.Run("hang is bounded by the context", func(t *testing.T) {
		srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS})
		srv.Hang(true)
		s, err := NewSender(Config{Addr: srv.Addr, From: "login@example.com", Timeout: time.Hour,
			TLSConfig: &tls.Config{RootCAs: srv.RootCAs}})
		if err != nil {
			t.Fatal(err)
		}
		// The configured timeout is an hour: the context's deadline is
		// the only one that can end Send (Send hands it to the
		// connection too, so it ends as the context's error or as the
		// connection's timeout).
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := sendWithin(t, s, ctx); err == nil || !IsTemporary(err) {
			t.Fatalf("Send: %v, want a timeout", err)
		}
	})
}

// sendWithin sends a login message, failing t if Send has not returned
// after testwait.Bound.
func sendWithin(t *testing.T, s *Sender, ctx context.Context) error {
	t.Helper()
	msg := loginMsg(t, "ann@example.org")
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, msg) }()
	return testwait.Recv(t, "Send to a hung relay", sent)
}

func TestHeaderInjectionRefused(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS})
	s := newSender(t, srv, TLSStartTLS, "", "")
	good := loginMsg(t, "ann@example.org")
	for name, m := range map[string]Message{
		"to with CRLF":         {To: "ann@example.org\r\nBcc: eve@example.net", Subject: good.Subject, Text: good.Text, HTML: good.HTML},
		"to with LF":           {To: "ann@example.org\nBcc: eve@example.net", Subject: good.Subject, Text: good.Text, HTML: good.HTML},
		"two recipients":       {To: "ann@example.org, eve@example.net", Subject: good.Subject, Text: good.Text, HTML: good.HTML},
		"encoded CRLF in name": {To: "=?utf-8?q?A=0D=0ABcc:_eve@example.net?= <ann@example.org>", Subject: good.Subject, Text: good.Text, HTML: good.HTML},
		"subject with CRLF":    {To: "ann@example.org", Subject: "hi\r\nBcc: eve@example.net", Text: good.Text, HTML: good.HTML},
		"not an address":       {To: "ann", Subject: good.Subject, Text: good.Text, HTML: good.HTML},
	} {
		if err := s.Send(context.Background(), m); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	if srv.Pending() != 0 {
		t.Fatal("server captured a message")
	}
	if _, err := LoginMessage(Login{To: "ann@example.org", Site: "Blog\r\nBcc: eve@example.net", Link: testLink, ValidFor: time.Minute}); err == nil {
		t.Error("site name with CRLF accepted")
	}
	if _, err := InvitationMessage(Invitation{To: "ann@example.org", Site: "Blog", Inviter: "Bob\nBcc: x@y.z", Role: "editor", Link: testLink}); err == nil {
		t.Error("inviter with LF accepted")
	}
}

func TestNewSenderValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no port":               {Addr: "smtp.example.com", From: "a@example.com"},
		"bad port":              {Addr: "smtp.example.com:x", From: "a@example.com"},
		"bad tls":               {Addr: "smtp.example.com:587", From: "a@example.com", TLS: "maybe"},
		"bad from":              {Addr: "smtp.example.com:587", From: "Blog"},
		"from with CRLF":        {Addr: "smtp.example.com:587", From: "Blog <a@example.com>\r\nBcc: e@x.y"},
		"two froms":             {Addr: "smtp.example.com:587", From: "a@example.com, b@example.com"},
		"password without user": {Addr: "smtp.example.com:587", From: "a@example.com", Password: "p"},
		"credentials in clear":  {Addr: "smtp.example.com:25", From: "a@example.com", TLS: TLSNone, Username: "u", Password: "p"},
		"negative timeout":      {Addr: "smtp.example.com:587", From: "a@example.com", Timeout: -time.Second},
	} {
		if _, err := NewSender(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := NewSender(Config{Addr: "smtp.example.com:587", From: "Blog <login@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	if s.From().Name != "Blog" || s.From().Address != "login@example.com" {
		t.Errorf("from %+v", s.From())
	}
}

func TestInvitationMessage(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.StartTLS})
	s := newSender(t, srv, TLSStartTLS, "", "")
	link := "https://relay.example.com/invite?token=a<b>&c=\"d\""
	if _, err := InvitationMessage(Invitation{To: "ann@example.org", Site: "Blog", Inviter: "Bob", Role: "editor", Link: link}); err == nil {
		t.Error("link with <, > and quotes accepted")
	}
	link = "https://relay.example.com/invite?token=abc&project=1"
	m, err := InvitationMessage(Invitation{To: "ann@example.org", Site: "Blog & Co", Inviter: "Bob <b>", Role: "editor", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 5*time.Second)
	if got.Subject != "Bob <b> invited you to Blog & Co" {
		t.Errorf("subject %q", got.Subject)
	}
	if strings.Count(got.Text, link) != 1 || strings.Count(got.HTML, html.EscapeString(link)) != 1 {
		t.Errorf("link not exactly once:\n%s\n%s", got.Text, got.HTML)
	}
	for _, want := range []string{"7 days", "editor", "Bob"} {
		if !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, want) {
			t.Errorf("%q missing", want)
		}
	}
	if !strings.Contains(got.HTML, "Bob &lt;b&gt;") || !strings.Contains(got.HTML, "Blog &amp; Co") {
		t.Errorf("html not escaped:\n%s", got.HTML)
	}
	if strings.Contains(got.HTML, "<img") || strings.Contains(got.HTML, "@import") {
		t.Error("html loads external content")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15 minutes", time.Hour: "1 hour", 2 * time.Hour: "2 hours",
		7 * 24 * time.Hour: "7 days", 24 * time.Hour: "1 day", 90 * time.Minute: "90 minutes", 30 * time.Second: "30 seconds",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
