package outstatic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCheckCallbackBinary runs `caddy outstatic check-callback` in the
// real caddy binary with this plugin: the shared vectors read as JSON
// lines from standard input, each judged as the vector says; a URL as an
// argument, accepted (exit 0) or refused (exit 1); usage errors (exit 2).
func TestCheckCallbackBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy")
	}
	bin := caddyBinary(t)
	origins := []string{"--origin", "https://blog.example.com/outstatic", "--origin", "http://localhost:3000/outstatic"}
	vectors, err := os.ReadFile("validate/testdata/callback-targets.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	run := func(stdin []byte, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"outstatic", "check-callback"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	out, code := run(vectors, origins...)
	if code != 1 {
		t.Errorf("the vectors: exit %d, want 1 (some are refused)", code)
	}
	in, got := json.NewDecoder(bytes.NewReader(vectors)), json.NewDecoder(strings.NewReader(out))
	n := 0
	for ; ; n++ {
		var v struct{ Want, URL string }
		var res struct{ URL, Verdict string }
		if err := in.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if err := got.Decode(&res); err != nil {
			t.Fatalf("answer to %q: %v", v.URL, err)
		}
		refused := res.Verdict == "invalid-callback-domain" || res.Verdict == "invalid-callback-target"
		if res.URL != v.URL || (v.Want == "reject" && !refused) || (v.Want != "reject" && res.Verdict != v.Want) {
			t.Errorf("%q: %+v, want %s", v.URL, res, v.Want)
		}
	}
	if n < 10 {
		t.Fatalf("%d vectors", n)
	}

	for url, want := range map[string]struct {
		out  string
		code int
	}{
		"https://blog.example.com/outstatic/api/outstatic/callback": {"accept\n", 0},
		"https://evil.example/outstatic/api/outstatic/callback":     {"invalid-callback-domain\n", 1},
	} {
		if out, code := run(nil, append(origins, "--", url)...); out != want.out || code != want.code {
			t.Errorf("%s: %q exit %d, want %q exit %d", url, out, code, want.out, want.code)
		}
	}
	for _, bad := range [][]string{{"https://x.example/"}, {"--nope"}} {
		if _, code := run(nil, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
