package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// whatwgJS parses one JSON-encoded URL per input line with the WHATWG URL
// parser every browser implements (Node's URL) and prints one JSON result
// per line, so one process serves a whole test run or fuzz worker.
const whatwgJS = `
const rl = require('readline').createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on('line', (line) => {
  let out;
  try {
    const u = new URL(JSON.parse(line));
    out = {ok: true, href: u.href, protocol: u.protocol, username: u.username, password: u.password,
           hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash};
  } catch (e) {
    out = {ok: false, error: String(e && e.message || e)};
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
`

// whatwgURL is what Node's URL reports for one input.
type whatwgURL struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Href     string `json:"href"`
	Protocol string `json:"protocol"`
	Username string `json:"username"`
	Password string `json:"password"`
	Hostname string `json:"hostname"`
	Port     string `json:"port"`
	Pathname string `json:"pathname"`
	Search   string `json:"search"`
	Hash     string `json:"hash"`
}

// whatwgParser is one long-lived node child process.
type whatwgParser struct {
	mu     sync.Mutex
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr *bytes.Buffer
}

var (
	whatwgOnce sync.Once
	whatwgProc *whatwgParser
	whatwgErr  error
)

// whatwg returns the shared parser, starting node on first use. Without node
// the comparison cannot run: that fails in CI, where it must run, and skips
// elsewhere.
func whatwg(tb testing.TB) *whatwgParser {
	tb.Helper()
	whatwgOnce.Do(func() { whatwgProc, whatwgErr = startWHATWG() })
	if whatwgErr != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("WHATWG URL comparison needs Node.js (node on PATH or /usr/bin/node): %v", whatwgErr)
		}
		tb.Skipf("skipping WHATWG URL comparison: %v", whatwgErr)
	}
	return whatwgProc
}

func startWHATWG() (*whatwgParser, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/node"); serr != nil {
			return nil, fmt.Errorf("node not found: %v", err)
		}
		node = "/usr/bin/node"
	}
	// The child outlives single tests on purpose; it exits on stdin EOF when
	// the test binary does.
	cmd := exec.Command(node, "-e", whatwgJS)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node: %v", err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	p := &whatwgParser{stdin: stdin, stdout: sc, stderr: &stderr}
	// One probe so that a broken node shows up here, not as a finding.
	if _, err := p.parse([]string{"https://example.com/"}); err != nil {
		return nil, err
	}
	return p, nil
}

// parse sends a batch of URLs and returns one result each, in order. The
// writer runs beside the reader so a large batch cannot fill both pipes.
func (p *whatwgParser) parse(urls []string) ([]whatwgURL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(p.stdin)
		for _, u := range urls {
			line, err := json.Marshal(u)
			if err != nil {
				werr <- err
				return
			}
			w.Write(line)
			w.WriteByte('\n')
		}
		werr <- w.Flush()
	}()
	out := make([]whatwgURL, 0, len(urls))
	for range urls {
		if !p.stdout.Scan() {
			<-werr
			return nil, fmt.Errorf("node stopped answering: %v (stderr: %s)", p.stdout.Err(), p.stderr.String())
		}
		var r whatwgURL
		if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("node answered %q: %v", p.stdout.Text(), err)
		}
		out = append(out, r)
	}
	if err := <-werr; err != nil {
		return nil, fmt.Errorf("writing to node: %v", err)
	}
	return out, nil
}

// compareTarget says how the WHATWG reading w of an accepted input differs
// from the target t we accepted it as, or "" when it does not: a browser
// given the input must go exactly where t.URL says.
func compareTarget(t Target, w whatwgURL) string {
	path := strings.TrimPrefix(t.URL, t.Origin.SiteOrigin())
	return compareParts(w, t.Origin.Scheme, t.Origin.Host, t.Origin.Port, path)
}

// compareParts checks a WHATWG reading against the expected canonical parts.
func compareParts(w whatwgURL, scheme, host, port, path string) string {
	if !w.OK {
		return "WHATWG refuses it: " + w.Error
	}
	var diffs []string
	check := func(what, got, want string) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %q, want %q", what, got, want))
		}
	}
	check("protocol", w.Protocol, scheme+":")
	check("username", w.Username, "")
	check("password", w.Password, "")
	check("hostname", w.Hostname, host)
	check("port", w.Port, port)
	check("pathname", w.Pathname, path)
	check("search", w.Search, "")
	check("hash", w.Hash, "")
	hp := host
	if port != "" {
		hp += ":" + port
	}
	check("href", w.Href, scheme+"://"+hp+path)
	return strings.Join(diffs, "; ")
}

// TestWHATWGAgreement sends every input the tables accept, and its canonical
// form, to the WHATWG parser in one batch and checks that the browser's
// reading is what was accepted.
func TestWHATWGAgreement(t *testing.T) {
	p := whatwg(t)
	type accepted struct {
		input string
		check func(whatwgURL) string
	}
	var all []accepted
	for _, ts := range fuzzTargetSets(t) {
		for _, in := range seedInputs(t) {
			got, err := ts.Check(in)
			if err != nil {
				continue
			}
			check := func(w whatwgURL) string { return compareTarget(got, w) }
			all = append(all, accepted{in, check}, accepted{got.URL, check})
		}
		for _, u := range ts.AllowedURLs() {
			got, err := ts.Check(u)
			if err != nil {
				t.Errorf("allowed URL %q refused: %v", u, err)
				continue
			}
			all = append(all, accepted{u, func(w whatwgURL) string { return compareTarget(got, w) }})
		}
	}
	for _, in := range originInputs(t) {
		o, err := ParseOrigin(in)
		if err != nil {
			continue
		}
		all = append(all, accepted{in, func(w whatwgURL) string {
			return compareParts(w, o.Scheme, o.Host, o.Port, o.Path)
		}})
	}
	if len(all) < 40 {
		t.Fatalf("only %d accepted inputs to compare", len(all))
	}
	urls := make([]string, len(all))
	for i, a := range all {
		urls[i] = a.input
	}
	res, err := p.parse(urls)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range all {
		if diff := a.check(res[i]); diff != "" {
			t.Errorf("%q: accepted, but WHATWG disagrees: %s", a.input, diff)
		}
	}
	t.Logf("compared %d accepted URLs with WHATWG", len(all))
}

// originInputs are the ParseOrigin inputs of the tables, good and bad.
func originInputs(tb testing.TB) []string {
	return []string{
		"https://blog.example.com/outstatic",
		"HTTPS://Blog.Example.COM:443/outstatic",
		"http://localhost:3000/outstatic",
		"http://localhost:80/outstatic",
		"https://x.com:80/outstatic",
		"https://x.com/blog/outstatic",
		"http://[::1]:3000/outstatic",
		"http://[2001:DB8::1]/outstatic",
		"http://[2001:db8:0:1:1:1:1:1]/outstatic",
		"http://[2001:db8::1:0:0:1]/outstatic",
		"http://127.0.0.1:8080/outstatic",
		"https://0.0.0.0/outstatic",
		"https://1.2.3.example/outstatic",
		"https://a.0xg.example/outstatic",
		"https://x.com/a:b@c!$&'()*+,;=~_.-/outstatic",
		"https://x.com:65535/outstatic",
		"https://0x7f.1/outstatic",
		"https://x.com./outstatic",
	}
}

// TestWHATWGOracleNotices makes sure the comparison can fail: each input
// here, taken at face value, is read differently by WHATWG.
func TestWHATWGOracleNotices(t *testing.T) {
	p := whatwg(t)
	tests := []struct{ in, host, path string }{
		{"https://0x7f.1/outstatic", "0x7f.1", "/outstatic"},
		{"https://x.com/a/./outstatic", "x.com", "/a/./outstatic"},
		{"https://x.com/outstatic?", "x.com", "/outstatic"},
		{"https://x.com/outstatic#", "x.com", "/outstatic"},
		{`https://x.com\@evil.com/outstatic`, "evil.com", "/outstatic"},
		{"https://x.com/out\tstatic", "x.com", "/out\tstatic"},
		{"https://x.com/a%2e/outstatic", "x.com", "/a./outstatic"},
		{"https://u@x.com/outstatic", "x.com", "/outstatic"},
		{"https://x.com./outstatic", "x.com", "/outstatic"},
	}
	urls := make([]string, len(tests))
	for i, tt := range tests {
		urls[i] = tt.in
	}
	res, err := p.parse(urls)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if diff := compareParts(res[i], "https", tt.host, "", tt.path); diff == "" {
			t.Errorf("%q: the oracle found no difference, want one", tt.in)
		}
	}
}
