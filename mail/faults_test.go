package mail

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpFault is a TCP server on 127.0.0.1 that greets every connection as
// a broken SMTP relay would.
func smtpFault(t *testing.T, greet func(c *net.TCPConn, done <-chan struct{})) string {
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				greet(c.(*net.TCPConn), done)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSendFaults: an SMTP relay that greets slowly, never, with a reset,
// with a 554, with garbage or with a 100 MB greeting: every Send ends
// within its timeout (500ms here) with an error, and goroutines come back
// to where they were.
func TestSendFaults(t *testing.T) {
	wait := func(d time.Duration, done <-chan struct{}) {
		select {
		case <-time.After(d):
		case <-done:
		}
	}
	faults := map[string]func(c *net.TCPConn, done <-chan struct{}){
		"slow": func(c *net.TCPConn, done <-chan struct{}) {
			wait(3*time.Second, done)
			_, _ = c.Write([]byte("220 slow ESMTP\r\n"))
		},
		"hang":  func(c *net.TCPConn, done <-chan struct{}) { wait(time.Minute, done) },
		"reset": func(c *net.TCPConn, done <-chan struct{}) { _ = c.SetLinger(0) },
		"554":   func(c *net.TCPConn, done <-chan struct{}) { _, _ = c.Write([]byte("554 no service here\r\n")) },
		"malformed": func(c *net.TCPConn, done <-chan struct{}) {
			_, _ = c.Write([]byte("{\"not\": \"smtp\"\r\n"))
			wait(time.Minute, done)
		},
		"huge": func(c *net.TCPConn, done <-chan struct{}) {
			line := []byte("220-" + strings.Repeat("x", 60<<10) + "\r\n")
			for sent := 0; sent < 100<<20; sent += len(line) {
				if _, err := c.Write(line); err != nil {
					return
				}
			}
		},
	}
	baseline := runtime.NumGoroutine()
	for name, greet := range faults {
		t.Run(name, func(t *testing.T) {
			s, err := NewSender(Config{Addr: smtpFault(t, greet), From: "login@example.com", Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			err = s.Send(context.Background(), loginMsg(t, "ann@example.org"))
			if took := time.Since(began); err == nil || took > 1500*time.Millisecond {
				t.Fatalf("Send: %v after %v; want an error within the timeout", err, took)
			}
			if strings.Contains(err.Error(), "exchange_token") {
				t.Errorf("the error names the link: %v", err)
			}
		})
	}
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > baseline && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	if n > baseline {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}
}
