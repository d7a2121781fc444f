package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/procgroup"
)

// site is the stock site's `next start`, in a process group of its own
// (so that stopping it stops whatever it started), ended by the kernel if
// the demo dies before it can stop it.
type site struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// checkBuilt makes sure dir holds a production build of the stock site
// made for appURL (the dashboard's Members and API Keys links are fixed
// when it is built); scripts/demo.sh records the URL it built for.
func checkBuilt(dir, appURL string) error {
	if _, err := os.Stat(filepath.Join(dir, ".next", "BUILD_ID")); err != nil {
		return fmt.Errorf("the stock site in %s is not built: run bash scripts/demo.sh, which builds it", dir)
	}
	got, err := os.ReadFile(filepath.Join(dir, ".next", ".demo-app-url"))
	if err != nil || strings.TrimSpace(string(got)) != appURL {
		return fmt.Errorf("the stock site in %s was not built for %s: run bash scripts/demo.sh, which builds it for that address", dir, appURL)
	}
	return nil
}

// startSite runs `next start` in dir on 127.0.0.1:port with exactly env,
// its output going to logPath. The site caches its key check on disk, a
// failed one too, for 30 minutes; the demo's key is new at every run, and
// the cache is cleared so that no earlier answer stays.
func startSite(dir string, port int, env []string, logPath string) (*site, error) {
	if err := os.RemoveAll(filepath.Join(dir, ".next", "cache", "fetch-cache")); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "next"), "start", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the stock site: %w", err)
	}
	s := &site{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	return s, nil
}

// pid is the site's process id, which is also its process group's.
func (s *site) pid() int { return s.cmd.Process.Pid }

// waitReady polls the site's session route until it answers as the
// stock site does, the site exits, or timeout passes.
func (s *site) waitReady(ctx context.Context, port int, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/outstatic/user", port)
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("the stock site exited while starting (its log: %s):\n%s", s.log, tail(s.log, 2000))
		default:
		}
		if res, err := client.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && strings.Contains(res.Header.Get("Content-Type"), "json") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the stock site did not answer on %s within %s (its log: %s)", url, timeout, s.log)
		}
		if err := pause(ctx); err != nil {
			return err
		}
	}
}

// stop ends the site's process group: SIGTERM, then SIGKILL if it is
// still there after a few seconds.
func (s *site) stop() { procgroup.Stop(s.pid(), s.done, 5*time.Second) }

// tail is the end of a file, for error messages.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails when something listens on 127.0.0.1:port. A plain
// listen is refused even where the holder set SO_REUSEPORT, as Caddy
// does, so a second demo (or the fast one) cannot start beside it unseen.
func checkPortFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %d on 127.0.0.1 is taken (another demo, or the fast demo of examples/Caddyfile?): stop it, or set OUTSTATIC_DEMO_PORT", port)
		}
		return err
	}
	return ln.Close()
}
