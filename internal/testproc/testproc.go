// Package testproc runs the programs a test starts (Ory Hydra, Mailpit, a
// built Caddy): each in a process group of its own, with its output in a
// log file the test can read, stopped when the test ends, and killed by
// the kernel if the test binary dies first.
package testproc

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/procgroup"
)

// Proc is a child process a test started.
type Proc struct {
	// Name names it in failures.
	Name string
	// Log is the file its standard output and error go to.
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts args[0] with args[1:] in dir, with exactly env as its
// environment, and registers its stop with t.Cleanup.
func Start(t testing.TB, name, dir string, env []string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if the test binary dies (a -timeout panic skips every
	// cleanup), the kernel still ends the child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop sends SIGTERM to the process group, and SIGKILL if it is still
// there after a few seconds. It is safe to call more than once.
func (p *Proc) Stop() { procgroup.Stop(p.cmd.Process.Pid, p.done, 5*time.Second) }

// Pid is the process's id, which is also its process group's.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is everything the process has written so far.
func (p *Proc) Output() string {
	data, _ := os.ReadFile(p.Log)
	return string(data)
}

// Tail is the last n bytes of the process's output.
func (p *Proc) Tail(n int) string {
	out := p.Output()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// WaitHTTP polls url until ready accepts a response; it fails the test
// if the process exits first or timeout passes. tlsConf, if not nil,
// says how an https url is verified (the test's CA); a nil ready takes
// any response.
func (p *Proc) WaitHTTP(t testing.TB, url string, timeout time.Duration, tlsConf *tls.Config, ready func(*http.Response) bool) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			t.Fatalf("%s exited while starting:\n%s", p.Name, p.Tail(4000))
		}
		res, err := client.Get(url)
		if err == nil {
			ok := ready == nil || ready(res)
			res.Body.Close()
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s after %s (last error %v):\n%s", p.Name, url, timeout, err, p.Tail(4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago and that
// no call before it in this process returned: the kernel may hand a port
// it just handed out, once closed, to the next listener on port 0, and two
// programs of one test (Caddy's admin and the site, say) must not be told
// the same one.
func FreePort(t testing.TB) int {
	t.Helper()
	for range maxPortDraws {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		givenPorts.Lock()
		fresh := !givenPorts.m[port]
		if fresh {
			givenPorts.m[port] = true
		}
		givenPorts.Unlock()
		if fresh {
			return port
		}
	}
	t.Fatalf("no port on 127.0.0.1 that FreePort has not returned before in %d draws", maxPortDraws)
	return 0
}

// maxPortDraws bounds FreePort's draws of a port it has not returned.
const maxPortDraws = 1000

// givenPorts are the ports FreePort has returned.
var givenPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// BaseEnv is the environment a child gets besides its own variables:
// PATH, and HOME and the XDG folders inside dir, so that nothing it
// writes lands outside the test's folders.
func BaseEnv(dir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"TMPDIR=" + dir,
	}
}
