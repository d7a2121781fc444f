package interop

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// cutProxy relays SMTP connections on loopback to a server, reading the
// client's side of the conversation (plain SMTP only), and cuts the first
// connection in the middle of the message: after the client's DATA, it
// passes on half of what the client sends next, then closes both ends.
// Later connections pass whole.
type cutProxy struct {
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	cuts int // connections cut so far
}

func startCutProxy(t *testing.T, server string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{Addr: ln.Addr().String(), ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for first := true; ; first = false {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.relay(client, server, first)
			}()
		}
	}()
	return p
}

// Cuts is how many connections were cut mid-message.
func (p *cutProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *cutProxy) relay(client net.Conn, server string, cut bool) {
	defer client.Close()
	upstream, err := net.DialTimeout("tcp", server, 5*time.Second)
	if err != nil {
		return
	}
	defer upstream.Close()
	// Bounded: nothing here outlives a stuck peer by more than this.
	deadline := time.Now().Add(time.Minute)
	client.SetDeadline(deadline)
	upstream.SetDeadline(deadline)
	go func() { _, _ = io.Copy(client, upstream) }()
	var seen []byte // what the client said, up to and including DATA
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if cut && bytes.Contains(seen, []byte("\r\nDATA\r\n")) {
				// The message itself: half of it, then nothing.
				_, _ = upstream.Write(chunk[:max(1, n/2)])
				p.mu.Lock()
				p.cuts++
				p.mu.Unlock()
				return
			}
			if cut {
				seen = append(seen, chunk...)
			}
			if _, werr := upstream.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// logLines are Caddy's log lines whose message is msg, decoded.
func (s *relayStack) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.proc.Output(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == msg {
			out = append(out, entry)
		}
	}
	return out
}

// waitLog waits (at most 60s: past the relay's mail timeout) for the
// n-th log line whose message is msg, and returns it.
func (s *relayStack) waitLog(t *testing.T, msg string, n int) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lines := s.logLines(msg); len(lines) >= n {
			return lines[n-1]
		}
	}
	t.Fatalf("no log line %q", msg)
	return nil
}

// TestMailFailures: a server that refuses the relay's AUTH, and one whose
// connection drops in the middle of the message. The site gets the
// documented answers (request-magic-link's 200 {"success":true}, which
// says nothing of membership or delivery; an invitation recorded and
// reported as not sent), the relay logs the failure without the password
// or the link, nothing half-sent is delivered, and the next message goes.
func TestMailFailures(t *testing.T) {
	t.Run("AUTH refused", func(t *testing.T) {
		mp := startMailpit(t, mailpitSTARTTLS)
		const wrong = "not-the-mailpit-password-42"
		s := startMailRelay(t, mp, mp.SMTP, mailpitSTARTTLS, wrong)
		s.askLink(t, "bob@example.com")
		line := s.waitLog(t, "sending a login link failed", 1)
		if e, _ := line["error"].(string); !strings.Contains(e, "535") || strings.Contains(e, wrong) || strings.Contains(e, "ml_") {
			t.Fatalf("the log line's error %q: want the server's 535, without the password or the link", e)
		}
		status, reply := s.invite(t, "carol@example.com", "author")
		errText, _ := reply["error"].(string)
		if status != 500 || !strings.Contains(errText, "the invitation is recorded, but sending it failed") || strings.Contains(errText, wrong) {
			t.Fatalf("invite: %d %v", status, reply)
		}
		s.waitLog(t, "sending an invitation failed", 1)
		if n := mp.total(t); n != 0 {
			t.Fatalf("Mailpit holds %d messages", n)
		}
	})

	t.Run("connection dropped mid-message", func(t *testing.T) {
		mp := startMailpit(t, mailpitPlain)
		proxy := startCutProxy(t, mp.SMTP)
		s := startMailRelay(t, mp, proxy.Addr, mailpitPlain, smtpPassword)
		s.askLink(t, "bob@example.com")
		line := s.waitLog(t, "sending a login link failed", 1)
		if e, _ := line["error"].(string); !strings.HasPrefix(e, "sending mail via "+proxy.Addr) || strings.Contains(e, smtpPassword) || strings.Contains(e, "ml_") {
			t.Fatalf("the log line's error %q holds a secret", e)
		}
		if proxy.Cuts() != 1 {
			t.Fatalf("the proxy cut %d connections mid-message; want the first one", proxy.Cuts())
		}
		if n := mp.total(t); n != 0 {
			t.Fatalf("a message cut in the middle was delivered (%d)", n)
		}
		// The next link goes through, whole, and signs in.
		s.askLink(t, "bob@example.com")
		link := checkMessage(t, mp, mp.next(t, "bob@example.com"), "bob@example.com", "Your sign-in link for blog", time.Now().Add(-time.Minute))
		if user := s.signedIn(t, link); user["email"] != "bob@example.com" {
			t.Fatalf("signed in as %v", user)
		}
	})
}
