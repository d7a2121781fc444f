package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// TestMain removes the caddy binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// caddyBinary builds ./cmd/caddy once per test binary.
func caddyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "caddy-outstatic-cluster-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "caddy")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/caddy-outstatic/caddy-outstatic/cmd/caddy").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// marked is a secret value no test could produce by accident: a marker
// and 128 random bits, so a search for it in logs cannot miss or mistake.
func marked(what string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "SECRETMARK" + what + hex.EncodeToString(b)
}

// publicURL is every instance's public_url: a load balancer's name. The
// tests dial each instance's own port with it as the Host.
const publicURL = "http://relay.example"

// callback is the project's site callback.
const callback = "http://blog.example/outstatic/api/outstatic/callback"

// secrets are the values the instances are given, marked.
type secrets struct {
	GitHub, Relay string
}

// instance is one caddy process.
type instance struct {
	Name    string
	Addr    string // 127.0.0.1:port of the site
	Admin   string // 127.0.0.1:port of the admin API
	LogPath string // Caddy's own log, JSON lines
	// AccessPath is the access log, written through docs/operations.md's
	// examples/outstatic-log.caddy snippet.
	AccessPath string
	cmd        *exec.Cmd
	exited     chan struct{}
	stderrBuf  *bytes.Buffer
}

// cluster is a fake GitHub and instances of the native relay sharing a
// store.
type cluster struct {
	t       *testing.T
	GH      *fakegithub.Server
	Secrets secrets
	Nodes   []*instance
	dir     string
}

// storageBlock is what the relay's store is: "storage redis <addr>" in
// the relay block, or "" with a shared file_system storage.
type storeKind struct {
	relayLine  string // in outstatic_relay
	globalLine string // in the global options

	// Extras, for the soak: lines added to the relay and to its project,
	// a guard block served for Host blog.example in front of a page
	// ("{ADDR}" in it is the instance's own address), and variables for
	// the process.
	relayExtra, projectExtra, guard string
	env                             []string
	// noAccessLog leaves the access log out (a soak's would fill the disk).
	noAccessLog bool
}

func redisStore(addr string) storeKind {
	return storeKind{relayLine: "storage redis " + addr}
}

func fileStore(dir string) storeKind {
	return storeKind{relayLine: "storage caddy", globalLine: "storage file_system " + dir}
}

// freePort is a port on 127.0.0.1 that no other call has been given (see
// testproc.FreePort): each instance's two ports, and every instance's,
// differ.
func freePort(t *testing.T) int { return testproc.FreePort(t) }

// startCluster starts n instances sharing st, each with its own ports,
// data directory and log file, and stops them when the test ends.
func startCluster(t *testing.T, n int, st storeKind) *cluster {
	t.Helper()
	bin := caddyBinary(t)
	c := &cluster{t: t, Secrets: secrets{GitHub: marked("gh"), Relay: marked("relay")}, dir: t.TempDir()}
	c.GH = fakegithub.New("relay-client", c.Secrets.GitHub, fakegithub.User{
		Login: "ada", Name: "Ada", ID: 1,
		Emails: []fakegithub.Email{{Email: "ada@example.com", Primary: true, Verified: true}},
	})
	c.GH.Start()
	t.Cleanup(c.GH.Close)
	for i := range n {
		node := &instance{Name: string(rune('A' + i))}
		node.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		node.Admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		home := filepath.Join(c.dir, node.Name)
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		node.LogPath = filepath.Join(home, "caddy.log")
		node.AccessPath = filepath.Join(home, "access.log")
		cfg := fmt.Sprintf(`{
	admin %[1]s
	%[2]s
	skip_install_trust
	auto_https off
	persist_config off
	grace_period 1s
	log {
		output file %[3]s
		format json
		level DEBUG
	}
	servers {
		timeouts {
			read_header 2s
			read_body 5s
			idle 30s
		}
	}
}
http://:%[4]s {
	%[10]s
	%[12]s
	handle {
	outstatic_relay {
		public_url %[5]s
		project blog {
			callback_origin http://blog.example/outstatic
			repo acme/blog
			plan pro
			member ada owner
			%[14]s
		}
		github {
			client_id relay-client
			client_secret {env.CLUSTER_GH_SECRET}
			base_url %[6]s
			api_url %[7]s
			graphql_url %[8]s
		}
		secret {env.CLUSTER_RELAY_SECRET}
		%[9]s
		%[13]s
	}
	}
}
`, node.Admin, st.globalLine, node.LogPath, strings.TrimPrefix(node.Addr, "127.0.0.1:"), publicURL,
			c.GH.URL(), c.GH.APIURL(), c.GH.GraphQLURL(), st.relayLine, accessLog(t, st, node.AccessPath), "", /* 11: no longer used */
			guardBlock(st.guard, node.Addr), st.relayExtra, st.projectExtra)
		cfgPath := filepath.Join(home, "Caddyfile")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "--config", cfgPath, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(),
			"HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"CLUSTER_GH_SECRET="+c.Secrets.GitHub, "CLUSTER_RELAY_SECRET="+c.Secrets.Relay)
		cmd.Env = append(cmd.Env, st.env...)
		node.stderrBuf = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = node.stderrBuf, node.stderrBuf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		node.cmd, node.exited = cmd, make(chan struct{})
		go func() { _ = cmd.Wait(); close(node.exited) }()
		t.Cleanup(node.stop)
		c.Nodes = append(c.Nodes, node)
	}
	for _, node := range c.Nodes {
		node.waitUp(t)
	}
	return c
}

// guardBlock serves guard (if any) for Host blog.example, in front of a
// page, beside the relay.
func guardBlock(guard, addr string) string {
	if guard == "" {
		return ""
	}
	return "@site host blog.example\n\thandle @site {\n" + strings.ReplaceAll(guard, "{ADDR}", addr) +
		"\n\t\trespond \"page pro={http.request.header.X-Outstatic-Pro}\"\n\t}"
}

// accessLog is the site's access log line: docs/operations.md's snippet, or
// nothing with noAccessLog (then the file is left empty).
func accessLog(t *testing.T, st storeKind, path string) string {
	if st.noAccessLog {
		_ = os.WriteFile(path, nil, 0o600)
		return ""
	}
	return "import " + logSnippet(t) + " " + path
}

// logSnippet is the absolute path of examples/outstatic-log.caddy, the
// access log docs/operations.md recommends.
func logSnippet(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/outstatic-log.caddy")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitUp waits until the instance answers on its site port.
func (n *instance) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			t.Fatalf("caddy %s exited:\n%s", n.Name, n.stderrBuf)
		default:
		}
		res, err := http.Get("http://" + n.Addr + "/outstatic/project")
		if err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("caddy %s did not answer within 30s:\n%s", n.Name, n.stderrBuf)
}

// stop ends the process: SIGTERM, then SIGKILL after 5 seconds.
func (n *instance) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 200},
}

// reply is an answer, its body read.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r reply) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// do sends a request to node with the public Host.
func (n *instance) do(t testing.TB, method, path, auth string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+n.Addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "relay.example"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, n.Name, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	recordBody(b)
	return reply{res.StatusCode, res.Header, b}
}

// get follows one URL on node if it names the public URL, else where it
// points (the fake GitHub), and returns the Location of the answer.
func (n *instance) get(t testing.TB, u string) string {
	t.Helper()
	if rest, ok := strings.CutPrefix(u, publicURL); ok {
		r := n.do(t, http.MethodGet, rest, "", nil)
		if r.Status != http.StatusFound && r.Status != http.StatusSeeOther && r.Status != http.StatusTemporaryRedirect {
			t.Fatalf("GET %s on %s: %d %s", rest, n.Name, r.Status, r.Body)
		}
		return r.Header.Get("Location")
	}
	res, err := noRedirects.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	recordBody(b)
	return res.Header.Get("Location")
}

// adminKey creates or rotates the project's key through node's admin API.
func (n *instance) adminKey(t *testing.T, action string) string {
	t.Helper()
	res, err := http.Post("http://"+n.Admin+"/outstatic/keys/blog/"+action, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Key string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || out.Key == "" {
		t.Fatalf("admin %s on %s: %d %v", action, n.Name, res.StatusCode, err)
	}
	return out.Key
}

// exchangeToken runs a login to the point where the browser holds an
// exchange token: github-exchange on a, the start and GitHub's return on
// b. It returns the token.
func (c *cluster) exchangeToken(t testing.TB, key string, a, b *instance) string {
	t.Helper()
	r := a.do(t, http.MethodPost, "/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
	if r.Status != http.StatusOK {
		t.Fatalf("github-exchange on %s: %d %s", a.Name, r.Status, r.Body)
	}
	start, _ := r.JSON()["url"].(string)
	authorize := b.get(t, start)
	back := b.get(t, authorize)
	final := b.get(t, back)
	token, ok := strings.CutPrefix(final, callback+"?exchange_token=")
	if !ok {
		t.Fatalf("the login on %s ended at %q", b.Name, final)
	}
	return token
}

// redeem calls exchange-token on node.
func (n *instance) redeem(t testing.TB, token string) reply {
	t.Helper()
	return n.do(t, http.MethodPost, "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": callback})
}

// bodies keeps every body the tests received, for the secrets search.
var (
	bodiesMu sync.Mutex
	bodies   [][]byte
)

func recordBody(b []byte) {
	bodiesMu.Lock()
	defer bodiesMu.Unlock()
	if len(bodies) < 100000 {
		bodies = append(bodies, bytes.Clone(b))
	}
}
