package cluster

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// zeros is an endless body that costs the sender no memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// rssKB is the resident memory of a process, from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestClusterBodyLimits sends 100 MB bodies, eight at a time, to every
// POST endpoint of the relay: each is answered with the protocol's
// refusal long before the body ends, and the process's resident memory
// grows by less than 64 MB.
func TestClusterBodyLimits(t *testing.T) {
	st := fileStore(t.TempDir())
	// AI completions on (the endpoint is never reached: the body is refused first)
	st.relayExtra = "ai {\n\t\t\tbase_url http://127.0.0.1:9/v1\n\t\t\tmodel test-model\n\t\t}"
	c := startCluster(t, 1, st)
	n := c.Nodes[0]
	key := n.adminKey(t, "create")
	before := rssKB(t, n.cmd.Process.Pid)
	cases := []struct {
		path, auth string
		status     int
		code       string
	}{
		{"/outstatic/auth/github-exchange", key, 400, "invalid-callback-target"},
		{"/outstatic/auth/exchange-token", "", 400, "invalid-exchange-token"},
		{"/outstatic/auth/refresh-token", "", 401, "Refresh token is expired"},
		{"/outstatic/auth/validate-github-user", key, 400, "invalid-callback-target"},
		{"/github/parser", "", 401, ""},
		{"/outstatic/auth/google-exchange", key, 501, "not-supported"},
		{"/outstatic/auth/request-magic-link", key, 501, "not-supported"},
		{"/outstatic/generate", key, 413, ""},
		{"/outstatic/scan", key, 400, ""},
	}
	client := &http.Client{Timeout: testwait.Bound}
	for _, tc := range cases {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr+tc.path, io.LimitReader(zeros{}, 100<<20))
				req.Host = "relay.example"
				req.ContentLength = 100 << 20
				req.Header.Set("Content-Type", "application/json")
				if tc.auth != "" {
					req.Header.Set("Authorization", "Bearer "+tc.auth)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("%s: %v", tc.path, err)
					return
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
				recordBody(body)
				got := (reply{Body: body}).JSON()["error"]
				if res.StatusCode != tc.status || (tc.code != "" && got != tc.code) {
					t.Errorf("%s with 100 MB: %d %s; want %d %s", tc.path, res.StatusCode, body, tc.status, tc.code)
				}
			}()
		}
		wg.Wait()
	}
	after := rssKB(t, n.cmd.Process.Pid)
	t.Logf("resident memory %d kB before, %d kB after", before, after)
	if after-before > 64<<10 {
		t.Errorf("resident memory grew by %d kB", after-before)
	}
	c.checkSecrets(t, key)
}

// TestClusterSlowClients: a client sending its headers, or its body, a
// byte at a time is cut off by the server timeouts docs/deployment.md recommends
// (read_header 2s, read_body 5s), and the relay keeps answering others
// meanwhile.
func TestClusterSlowClients(t *testing.T) {
	c := startCluster(t, 1, fileStore(t.TempDir()))
	n := c.Nodes[0]
	// slow writes pre at once, then drip a byte every 300ms, until the
	// server ends the connection, which it must do before the first
	// before bytes of drip are sent: a header dripped is cut before it is
	// whole (read_header, the only timeout at work then), a body before
	// it is. Sending the whole of drip (a minute or more) is the outer
	// bound, not a speed target.
	slow := func(pre, drip string, before int) {
		conn, err := net.Dial("tcp", n.Addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		began := time.Now()
		closed := make(chan string, 1)
		go func() {
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil && line == "" {
				line = "closed: " + err.Error()
			}
			closed <- line
		}()
		if _, err := io.WriteString(conn, pre); err != nil {
			t.Error(err)
			return
		}
		for i, b := range []byte(drip) {
			if _, err := conn.Write([]byte{b}); err != nil {
				break
			}
			select {
			case how := <-closed:
				t.Logf("slow client cut off after %d of %d bytes: %q", i, len(drip), strings.TrimSpace(how))
				if i >= before {
					t.Errorf("slow client cut off only after %d bytes, want before %d", i, before)
				}
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
		t.Errorf("a slow client sent its whole request (%v) without being cut off", time.Since(began))
	}
	body := strings.Repeat(" ", 200)
	head := "POST /outstatic/auth/exchange-token HTTP/1.1\r\nHost: relay.example\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); slow("", head+body, len(head)) }()
	go func() { defer wg.Done(); slow(head, body, len(body)) }()
	for range 10 {
		if r := n.do(t, http.MethodGet, "/outstatic/project", "", nil); r.Status != 401 {
			t.Errorf("the relay while slow clients hang on: %d", r.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
}

// TestClusterStartLimit: with start_limit 3 1m, the fourth login start
// from one client IP within a minute is answered 429 with Retry-After by
// Caddy (the client IP is Caddy's), and sends nobody to GitHub; the
// exchange that hands out the start URL is not limited (the site makes it
// for all its visitors).
func TestClusterStartLimit(t *testing.T) {
	st := fileStore(t.TempDir())
	st.relayExtra = "start_limit 3 1m"
	c := startCluster(t, 1, st)
	n := c.Nodes[0]
	key := n.adminKey(t, "create")
	var start string
	for range 5 {
		r := n.do(t, http.MethodPost, "/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
		if r.Status != 200 {
			t.Fatalf("github-exchange: %d %s", r.Status, r.Body)
		}
		start, _ = r.JSON()["url"].(string)
	}
	path := strings.TrimPrefix(start, publicURL)
	for i := range 4 {
		r := n.do(t, http.MethodGet, path, "", nil)
		want := http.StatusFound
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if r.Status != want {
			t.Fatalf("start %d: %d %s; want %d", i+1, r.Status, r.Body, want)
		}
		if i == 3 && (r.Header.Get("Retry-After") == "" || r.Header.Get("Location") != "") {
			t.Fatalf("the refused start: Retry-After %q, Location %q", r.Header.Get("Retry-After"), r.Header.Get("Location"))
		}
	}
	c.checkSecrets(t, key)
}
