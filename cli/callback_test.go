package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

var vectorOrigins = []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"}

type vector struct {
	Want string `json:"want"`
	URL  string `json:"url"`
}

// loadVectors reads the shared callback-target vectors (beside the
// repository in CI), or the copy kept in validate/testdata.
func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("../../shared/vectors/callback-targets.jsonl")
	if err != nil {
		data, err = os.ReadFile("../validate/testdata/callback-targets.jsonl")
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []vector
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatal("no vectors")
	}
	return out
}

func verdictMatches(want, got string) bool {
	if want == "reject" {
		return got == "invalid-callback-domain" || got == "invalid-callback-target"
	}
	return want == got
}

func TestCheckCallbackVectorsJSONLines(t *testing.T) {
	vectors := loadVectors(t)
	var in bytes.Buffer
	for _, v := range vectors {
		line, _ := json.Marshal(map[string]string{"url": v.URL})
		in.Write(append(line, '\n'))
	}
	var out bytes.Buffer
	code, err := runCheckCallback(vectorOrigins, false, false, nil, &in, &out)
	if err != nil || code != exitRefused {
		t.Fatalf("exit %d, %v; want %d (some vectors are refused)", code, err, exitRefused)
	}
	sc := bufio.NewScanner(&out)
	for i := 0; sc.Scan(); i++ {
		var res checkResult
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if res.URL != vectors[i].URL || !verdictMatches(vectors[i].Want, res.Verdict) {
			t.Errorf("%q: %s, want %s", vectors[i].URL, res.Verdict, vectors[i].Want)
		}
	}
}

func TestCheckCallbackArgs(t *testing.T) {
	var out bytes.Buffer
	code, err := runCheckCallback(vectorOrigins, false, false,
		[]string{"https://blog.example.com/outstatic/api/outstatic/callback", "https://blog.example.com/api/outstatic/callback"}, nil, &out)
	if code != exitOK || err != nil || out.String() != "accept\naccept\n" {
		t.Fatalf("exit %d %v %q", code, err, out.String())
	}
	out.Reset()
	code, _ = runCheckCallback(vectorOrigins, true, true, []string{"https://blog.example.com/api/outstatic/callback"}, nil, &out)
	if code != exitRefused || !strings.HasPrefix(out.String(), "invalid-callback-target\t") {
		t.Fatalf("strict: exit %d %q", code, out.String())
	}
	for name, origins := range map[string][]string{"none": nil, "bad": {"https://x.example/admin"}} {
		if code, err := runCheckCallback(origins, false, false, []string{"https://x.example/"}, nil, &out); code != exitUsage || err == nil {
			t.Errorf("%s origins: exit %d", name, code)
		}
	}
	if code, err := runCheckCallback(vectorOrigins, false, false, nil, strings.NewReader("not json\n"), &out); code != exitUsage || err == nil {
		t.Errorf("malformed input: exit %d", code)
	}
}
