package mail

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// smtpFault is a TCP server on 127.0.0.1 that greets every connection as
// a broken SMTP relay would. greet gets the connection and a channel
// closed once the client has closed it (or the test ended); the server
// counts the connections their client closed in left.
func smtpFault(t *testing.T, greet func(c *net.TCPConn, gone <-chan struct{}), left *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			gone := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				defer close(gone)
				// Send writes nothing before a greeting it can read:
				// reading tells when it closes the connection.
				if _, err := io.Copy(io.Discard, c); !errors.Is(err, net.ErrClosed) {
					left.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				defer c.Close()
				either := make(chan struct{})
				go func() {
					select {
					case <-gone:
					case <-done:
					}
					close(either)
				}()
				greet(c.(*net.TCPConn), either)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSendFaults: an SMTP relay that greets only after the client has
// given up, never, greets and then says nothing, with a reset, with a
// 554, with garbage or with a 100 MB greeting: every Send ends with an error (the relay's silence with
// the timeout's, 500ms here, as nothing else could end it), the relay
// sees each connection it kept open closed by Send, and no goroutine is
// left behind.
func TestSendFaults(t *testing.T) {
	faults := map[string]func(c *net.TCPConn, gone <-chan struct{}){
		"slow": func(c *net.TCPConn, gone <-chan struct{}) {
			<-gone
			_, _ = c.Write([]byte("220 slow ESMTP\r\n"))
		},
		"hang": func(c *net.TCPConn, gone <-chan struct{}) { <-gone },
		"greet-hang": func(c *net.TCPConn, gone <-chan struct{}) {
			_, _ = c.Write([]byte("220 then nothing ESMTP\r\n"))
			<-gone
		},
		"reset": func(c *net.TCPConn, gone <-chan struct{}) { _ = c.SetLinger(0) },
		"554":   func(c *net.TCPConn, gone <-chan struct{}) { _, _ = c.Write([]byte("554 no service here\r\n")) },
		"malformed": func(c *net.TCPConn, gone <-chan struct{}) {
			_, _ = c.Write([]byte("{\"not\": \"smtp\"\r\n"))
			<-gone
		},
		"huge": func(c *net.TCPConn, gone <-chan struct{}) {
			line := []byte("220-" + strings.Repeat("x", 60<<10) + "\r\n")
			for sent := 0; sent < 100<<20; sent += len(line) {
				if _, err := c.Write(line); err != nil {
					break // the client went: the reader sees it too
				}
			}
			<-gone
		},
	}
	// kept: the faults where the relay keeps the connection open, so only
	// Send can close it; silent: those where only the timeout ends Send.
	kept := map[string]bool{"slow": true, "hang": true, "greet-hang": true, "malformed": true, "huge": true}
	silent := map[string]bool{"slow": true, "hang": true, "greet-hang": true}
	before := testwait.Running()
	for name, greet := range faults {
		t.Run(name, func(t *testing.T) {
			var left atomic.Int64
			s, err := NewSender(Config{Addr: smtpFault(t, greet, &left), From: "login@example.com", Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			msg := loginMsg(t, "ann@example.org")
			sent := make(chan error, 1)
			go func() { sent <- s.Send(context.Background(), msg) }()
			err = testwait.Recv(t, "Send to a relay that is "+name, sent)
			if err == nil {
				t.Fatal("Send: no error")
			}
			if silent[name] && !IsTemporary(err) {
				t.Errorf("Send: %v, want the timeout's error", err)
			}
			if strings.Contains(err.Error(), "exchange_token") {
				t.Errorf("the error names the link: %v", err)
			}
			if kept[name] {
				testwait.Until(t, "the relay seeing Send close the connection", func() bool { return left.Load() > 0 })
			}
		})
	}
	before.Ended(t, 0)
}
