package outstatic

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// suiteSecrets are the keys, client secrets and sealing secrets the tests
// of this package give the in-process Caddy: none may appear in anything
// Caddy writes to the process's stderr (its default log) during the run.
// They are distinctive enough that a match is a leak, not chance.
var suiteSecrets = []string{
	testKey,                 // guard and relay keys (guardpro_test.go and others)
	faultKey,                // faults_test.go
	"relay-secret",          // the native relay's GitHub client secret
	strings.Repeat("x", 40), // native relay secrets
	strings.Repeat("r", 40), // relaylogin_test.go's relay secret
	"SECRETMARK",            // any marked secret
	"Bearer " + testKey,     // as a header value
}

// teeStderr sends what this process writes to file descriptor 2 (Caddy's
// default log, whoever opened it and when) both to the real stderr and to
// a buffer, until the returned function restores it and returns the
// buffer. Capture stops at 512 MB. Captures may nest: a test may capture
// what it logs while TestMain captures the whole run.
func teeStderr() (func() []byte, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	orig, err := syscall.Dup(2)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	out := os.NewFile(uintptr(orig), "stderr")
	go func() {
		defer close(done)
		chunk := make([]byte, 64<<10)
		for {
			n, err := r.Read(chunk)
			_, _ = out.Write(chunk[:n])
			if buf.Len() < 512<<20 {
				buf.Write(chunk[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return func() []byte {
		_ = syscall.Dup3(orig, 2, 0)
		w.Close()
		<-done
		// orig is a copy of what fd 2 was, now fd 2 again: a capture
		// inside another holds the outer pipe open until it is closed.
		out.Close()
		r.Close()
		return buf.Bytes()
	}, nil
}

// leakedSecrets reports every line of log that holds one of secrets.
func leakedSecrets(log []byte, secrets []string) []string {
	var found []string
	for _, line := range bytes.Split(log, []byte("\n")) {
		for _, s := range secrets {
			if bytes.Contains(line, []byte(s)) {
				found = append(found, fmt.Sprintf("%.12s… in: %.400s", s, line))
			}
		}
	}
	return found
}
