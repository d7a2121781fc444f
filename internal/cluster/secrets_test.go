package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkSecrets stops the instances (so their logs are complete), then
// searches every line of their logs and every body the tests received for
// the instances' secrets, and searches the logs for the given values
// (keys, tokens): none may appear. Bodies are not searched for those,
// since handing them out is what bodies are for.
func (c *cluster) checkSecrets(t *testing.T, values ...any) {
	t.Helper()
	for _, n := range c.Nodes {
		n.stop()
	}
	everywhere := []string{c.Secrets.GitHub, c.Secrets.Relay, "SECRETMARK"}
	var inLogs []string
	for _, v := range values {
		switch v := v.(type) {
		case string:
			if v != "" {
				inLogs = append(inLogs, v)
			}
		case []byte:
			if m := (reply{Body: v}).JSON(); m != nil {
				if s, ok := m["session"].(map[string]any); ok {
					for _, f := range []string{"access_token", "refresh_token"} {
						if tok, _ := s[f].(string); tok != "" {
							inLogs = append(inLogs, tok)
						}
					}
				}
			}
		case nil:
		default:
			inLogs = append(inLogs, fmt.Sprint(v))
		}
	}
	lines := 0
	for _, n := range c.Nodes {
		own, err := os.ReadFile(n.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		access, err := os.ReadFile(n.AccessPath)
		if err != nil {
			t.Fatal(err)
		}
		data := append(own, access...)
		lines += bytes.Count(data, []byte("\n"))
		for _, s := range append(everywhere, inLogs...) {
			if i := bytes.Index(data, []byte(s)); i >= 0 {
				t.Errorf("%s's log holds a secret (%.12s…): %s", n.Name, s, line(data, i))
			}
		}
		for _, s := range everywhere {
			if bytes.Contains(n.stderrBuf.Bytes(), []byte(s)) {
				t.Errorf("%s's stderr holds a secret (%.12s…)", n.Name, s)
			}
		}
	}
	if lines < 10 {
		t.Fatalf("only %d log lines: the logs are not being written where the search looks", lines)
	}
	bodiesMu.Lock()
	defer bodiesMu.Unlock()
	for _, b := range bodies {
		for _, s := range everywhere {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("a body holds a secret (%.12s…): %.200s", s, b)
			}
		}
	}
	t.Logf("searched %d log lines and %d bodies for %d values", lines, len(bodies), len(everywhere)+len(inLogs))
}

// line returns the log line around index i.
func line(data []byte, i int) []byte {
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	end := bytes.IndexByte(data[i:], '\n')
	if end < 0 {
		end = len(data) - i
	}
	return data[start : i+end]
}

// TestExamplesAdaptWithoutSecrets runs `caddy adapt` on every example
// Caddyfile (examples/*.Caddyfile, examples/compose/Caddyfile) with every
// variable they read set: a marked secret for each {env.*} and for each
// {$*} whose name says secret, a host name for the others. The adapted
// JSON must hold none of the secrets: {env.*} is expanded at Provision,
// not at adapt time, and no example reads a secret as {$*}.
func TestExamplesAdaptWithoutSecrets(t *testing.T) {
	bin := caddyBinary(t)
	files, _ := filepath.Glob("../../examples/*.Caddyfile")
	files = append(files, "../../examples/Caddyfile", "../../examples/compose/Caddyfile")
	vars := regexp.MustCompile(`\{(?:env\.|\$)([A-Za-z_][A-Za-z0-9_]*)`)
	secretName := regexp.MustCompile(`(?i)key|secret|password|token`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		env := os.Environ()
		var secrets []string
		for _, m := range vars.FindAllStringSubmatch(string(src), -1) {
			val := "blog.example.com"
			if strings.HasPrefix(m[0], "{env.") || secretName.MatchString(m[1]) {
				val = marked(strings.ToLower(m[1]))
				secrets = append(secrets, val)
			}
			env = append(env, m[1]+"="+val)
		}
		if len(secrets) == 0 && !strings.HasSuffix(f, "examples/Caddyfile") {
			t.Errorf("%s reads no secret: the search would prove nothing", f)
		}
		cmd := exec.Command(bin, "adapt", "--config", filepath.Base(f), "--adapter", "caddyfile")
		cmd.Dir, cmd.Env = filepath.Dir(f), env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !bytes.Contains(out, []byte(`"apps"`)) {
			t.Fatalf("caddy adapt %s: %v\n%s", f, err, stderr.Bytes())
		}
		for _, s := range secrets {
			if bytes.Contains(out, []byte(s)) || bytes.Contains(stderr.Bytes(), []byte(s)) {
				t.Errorf("caddy adapt %s: a secret (%.16s…) is in the adapted config or its warnings", f, s)
			}
		}
		t.Logf("%s: %d secrets, none in %d bytes of JSON", f, len(secrets), len(out))
	}
}
