package outstatic

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var updateGoldens = flag.Bool("update", false, "rewrite the JSON half of testdata/caddyfile_adapt goldens")

func TestUnmarshalGuardCaddyfile(t *testing.T) {
	off, on := false, true
	cases := []struct {
		name  string
		input string
		want  Guard
	}{
		{"inline origins", `outstatic https://blog.example.com/outstatic http://localhost:3000/outstatic`,
			Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"}}},
		{"every subdirective", `outstatic {
			callback_origin https://blog.example.com/outstatic https://preview.example.com/outstatic
			callback_origin http://localhost:3000/outstatic
			strict_callbacks
			app_origin http://127.0.0.1:3000 http://localhost:3000
			bind_login on
			bind_magic_link off
			binding_ttl 5m
			binding_secret {env.OUTSTATIC_BINDING_SECRET}
		}`, Guard{
			CallbackOrigins: []string{"https://blog.example.com/outstatic", "https://preview.example.com/outstatic", "http://localhost:3000/outstatic"},
			StrictCallbacks: true,
			AppOrigins:      []string{"http://127.0.0.1:3000", "http://localhost:3000"},
			BindLogin:       &on,
			BindMagicLink:   &off,
			BindingTTL:      caddy.Duration(5 * 60 * 1e9),
			BindingSecret:   "{env.OUTSTATIC_BINDING_SECRET}",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g Guard
			if err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, tc.want) {
				t.Fatalf("got %+v\nwant %+v", g, tc.want)
			}
		})
	}
}

func TestUnmarshalGuardCaddyfileErrors(t *testing.T) {
	cases := []struct {
		name, input string
		// every fragment must be in the error: the line and what is wrong
		want []string
	}{
		{"no origin", "outstatic", []string{"needs a callback_origin", "or an api_key and a service"}},
		{"no origin, outstatic.com", "outstatic {\n api_key {env.K}\n}", []string{"Testfile:1", "https://outstatic.com/api answers none"}},
		{"no origin, outstatic.com named", "outstatic {\n api_key {env.K}\n service https://OUTSTATIC.com/api/\n}", []string{"Testfile:1", "answers none"}},
		{"unknown subdirective", "outstatic {\n callback_origin https://a.example/outstatic\n colback_origin x\n}",
			[]string{"Testfile:3", `unknown subdirective "colback_origin" of outstatic; did you mean callback_origin?`}},
		{"unknown, nothing near", "outstatic {\n callback_origin https://a.example/outstatic\n upstream x\n}",
			[]string{"Testfile:3", `unknown subdirective "upstream" of outstatic; it takes `, "callback_origin, "}},
		{"missing argument", "outstatic {\n callback_origin\n}", []string{"Testfile:2", "wrong argument count"}},
		{"origin without /outstatic", "outstatic {\n callback_origin https://a.example/admin\n}",
			[]string{"Testfile:2", "callback_origin", "/outstatic"}},
		{"origin with empty query", "outstatic {\n\n callback_origin https://a.example/outstatic?\n}",
			[]string{"Testfile:3", "query"}},
		{"origin with userinfo", "outstatic https://u@a.example/outstatic", []string{"Testfile:1", "userinfo"}},
		{"bad switch", "outstatic {\n callback_origin https://a.example/outstatic\n bind_login maybe\n}",
			[]string{"Testfile:3", `"maybe" is neither on nor off`}},
		{"bad duration", "outstatic {\n callback_origin https://a.example/outstatic\n binding_ttl soon\n}",
			[]string{"Testfile:3", "binding_ttl"}},
		{"literal secret", "outstatic {\n callback_origin https://a.example/outstatic\n binding_secret hunter2\n}",
			[]string{"Testfile:3", "{env.NAME}"}},
		{"bad app origin", "outstatic {\n callback_origin https://a.example/outstatic\n app_origin localhost:3000\n}",
			[]string{"Testfile:3", "app_origin"}},
		{"flag with argument", "outstatic {\n callback_origin https://a.example/outstatic\n strict_callbacks yes\n}",
			[]string{"Testfile:3", "wrong argument count"}},
		// a second api_key would replace the first: the guard serves one site
		{"api_key twice", "outstatic {\n callback_origin https://a.example/outstatic\n api_key {env.A}\n api_key {env.B}\n}",
			[]string{"Testfile:4", "api_key is given twice"}},
		{"duration twice", "outstatic {\n callback_origin https://a.example/outstatic\n cache_ttl 1m\n cache_ttl 2m\n}",
			[]string{"Testfile:4", "cache_ttl is given twice"}},
		{"bad keep_app_routes", "outstatic {\n callback_origin https://a.example/outstatic\n keep_app_routes user\n}",
			[]string{"Testfile:3", "keep_app_routes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g Guard
			err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatal("no error")
			}
			for _, frag := range tc.want {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
		})
	}
}

// TestArgErrorNamesOnce: a refused argument's error names its
// subdirective once, whether the rule's own message names it (service,
// whose rule says service "...") or not (upstream).
func TestArgErrorNamesOnce(t *testing.T) {
	var g Guard
	err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser("outstatic {\n callback_origin https://a.example/outstatic\n service outstatic.com\n}"))
	if err == nil || !strings.HasPrefix(err.Error(), `service "outstatic.com": want an http or https base URL`) || !strings.Contains(err.Error(), "Testfile:3") {
		t.Errorf("service: %v", err)
	}
	var rl Relay
	err = rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser("outstatic_relay {\n upstream outstatic.com\n}"))
	if err == nil || !strings.HasPrefix(err.Error(), `upstream: service "outstatic.com": want`) || !strings.Contains(err.Error(), "Testfile:2") {
		t.Errorf("upstream: %v", err)
	}
}

// TestCaddyfileAdapt checks testdata/caddyfile_adapt/*.caddyfiletest: a
// Caddyfile, a line of dashes, and the JSON it must adapt to. A JSON half
// that starts with "error:" lists fragments the adapt error must contain.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(data), "\n----------\n")
			if !ok {
				t.Fatal("no ---------- separator")
			}
			expected = strings.TrimSpace(expected)
			out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			if frags, isErr := strings.CutPrefix(expected, "error:"); isErr {
				if err == nil {
					t.Fatal("adapted, want an error")
				}
				for _, frag := range strings.Split(frags, "|") {
					if !strings.Contains(err.Error(), strings.TrimSpace(frag)) {
						t.Errorf("error %q does not contain %q", err, strings.TrimSpace(frag))
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			got := pretty.String()
			if *updateGoldens {
				if err := os.WriteFile(file, []byte(input+"\n----------\n"+got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != expected {
				t.Errorf("adapted JSON differs; got:\n%s", got)
			}
			for _, secret := range []string{"hunter2", "sk-test-secret"} {
				if strings.Contains(got, secret) {
					t.Errorf("secret %q in adapted JSON", secret)
				}
			}
		})
	}
}

// TestAdaptedConfigHasNoKey: a key given as {env.*} stays a placeholder in
// the adapted JSON, and one given as {$VAR} (which the adapter expands) is
// refused rather than baked in.
func TestAdaptedConfigHasNoKey(t *testing.T) {
	const secret = "ost_live_do_not_leak_0123456789"
	t.Setenv("OUTSTATIC_API_KEY", secret)
	ok := "blog.example.com {\n outstatic {\n  callback_origin https://blog.example.com/outstatic\n  api_key {env.OUTSTATIC_API_KEY}\n }\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(ok), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), secret) || !strings.Contains(string(out), "{env.OUTSTATIC_API_KEY}") {
		t.Fatalf("adapted JSON: %s", out)
	}
	baked := strings.Replace(ok, "{env.OUTSTATIC_API_KEY}", "{$OUTSTATIC_API_KEY}", 1)
	out, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(baked), nil)
	if err == nil || strings.Contains(string(out), secret) || strings.Contains(err.Error(), secret) {
		t.Fatalf("{$VAR} key: err %v, JSON %s", err, out)
	}
}

// TestExamplesAdapt: every Caddyfile in examples/ adapts.
func TestExamplesAdapt(t *testing.T) {
	files, _ := filepath.Glob("examples/*Caddyfile")
	if len(files) < 3 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": f}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
