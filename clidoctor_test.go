package outstatic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/cli"
	"github.com/caddy-outstatic/caddy-outstatic/doctor"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestDoctorInCaddy runs the doctor on a config that Caddy runs in this
// process, with one site block broken in each way the doctor reports:
// a callback origin the guard does not answer, a reverse_proxy before
// the guard, a site listen address no app_origin covers, a key the relay
// refuses, a site the relay's CORS does not answer, a site .env whose key
// is not the guard's. The good block passes every check.
func TestDoctorInCaddy(t *testing.T) {
	good, hash, _, _ := relay.NewKey()
	bad, _, _, _ := relay.NewKey()
	t.Setenv("TEST_DOCTOR_KEY", good)
	t.Setenv("TEST_DOCTOR_BAD_KEY", bad)
	t.Setenv("TEST_DOCTOR_GH", "gh-secret")
	dir := caddyStorage(t, "outstatic-doctor-")
	cfg := ports(fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	storage file_system %[1]s
}
http://127.0.0.1:9080 {
	handle_path /relay/* {
		outstatic_relay {
			public_url http://127.0.0.1:9080/relay
			project blog {
				callback_origin http://good.localhost:9080/outstatic
				repo acme/blog
				key_sha256 %[2]s
				member ada owner
			}
			github {
				client_id doctor
				client_secret {env.TEST_DOCTOR_GH}
			}
		}
	}
}
http://good.localhost:9080 {
	outstatic {
		callback_origin http://good.localhost:9080/outstatic http://unguarded.localhost:9080/outstatic
		api_key {env.TEST_DOCTOR_KEY}
		service http://127.0.0.1:9080/relay
		app_origin http://localhost:9
	}
	reverse_proxy 127.0.0.1:9
}
http://unguarded.localhost:9080 {
	reverse_proxy 127.0.0.1:9
}
http://order.localhost:9080 {
	route {
		reverse_proxy 127.0.0.1:9
		outstatic {
			callback_origin http://order.localhost:9080/outstatic
			app_origin http://localhost:9
		}
	}
}
http://badkey.localhost:9080 {
	outstatic {
		callback_origin http://badkey.localhost:9080/outstatic
		api_key {env.TEST_DOCTOR_BAD_KEY}
		service http://127.0.0.1:9080/relay
	}
	reverse_proxy 127.0.0.1:4000
}
`, filepath.Join(dir, "storage"), hash))
	tester := newTester(t)
	tester.InitServer(cfg, "caddyfile")
	path := filepath.Join(dir, "Caddyfile")
	env := filepath.Join(dir, "site.env")
	must(t, os.WriteFile(path, []byte(cfg), 0o600))
	must(t, os.WriteFile(env, []byte(ports("# the site\nOUTSTATIC_API_URL=http://127.0.0.1:9080/relay\nexport OUTSTATIC_API_KEY=\""+good+"\"\n")), 0o600))

	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var out, errOut bytes.Buffer
	code := cli.Doctor{Config: path, Adapter: "caddyfile", Env: env, Site: ports("http://good.localhost:9080"), Client: client}.
		Run(context.Background(), &out, &errOut)
	report := out.String()
	if code != 1 || errOut.Len() > 0 {
		t.Errorf("exit %d (stderr %q), want 1: findings", code, errOut.String())
	}
	for _, want := range []string{
		"ok       callback origin http://good.localhost:9080/outstatic: valid, and answered by the guard",
		"FINDING  callback origin http://unguarded.localhost:9080/outstatic: its callback route is not answered by the guard (status 502); fix: serve http://unguarded.localhost:9080 from the site block that has the outstatic directive",
		"FINDING  order server srv0: reverse_proxy runs before the outstatic guard",
		"ok       order server srv0: the guard runs before reverse_proxy",
		"ok       app origin 127.0.0.1:9: the site's listen address is covered by app_origin",
		"FINDING  app origin 127.0.0.1:4000: the site behind reverse_proxy names itself http://localhost:4000, which no app_origin covers; fix: add app_origin http://localhost:4000",
		"ok       key http://127.0.0.1:9080/relay: accepted",
		"FINDING  key http://127.0.0.1:9080/relay: refused (status 401)",
		"FINDING  key site .env: the site's OUTSTATIC_API_KEY is not the guard's api_key",
		"ok       clock http://127.0.0.1:9080/relay: within 30s",
		"ok       CORS http://good.localhost:9080: the parser answers the dashboard's preflight",
		"FINDING  CORS http://unguarded.localhost:9080: the parser's preflight does not allow this site",
		"ok       storage " + filepath.Join(dir, "storage") + ": writable",
		"ok       caddy localhost:2999: running: the admin API answers",
		"ok       site http://good.localhost:9080: is the site of callback origin http://good.localhost:9080/outstatic",
	} {
		if want = ports(want); !strings.Contains(report, want) {
			t.Errorf("the report lacks\n  %s", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
	if strings.Contains(report, good) || strings.Contains(report, bad) {
		t.Error("the report shows a key")
	}

	out.Reset()
	cli.Doctor{Config: path, Adapter: "caddyfile", Site: "https://www.example.com", JSON: true, Client: client}.Run(context.Background(), &out, &errOut)
	if !strings.Contains(out.String(), `"fix":"add callback_origin https://www.example.com/outstatic to the site's outstatic block"`) {
		t.Errorf("--site of another host: %s", out.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var f doctor.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil || f.Check == "" || (!f.OK && f.Fix == "") {
			t.Errorf("--json line %q: %v", line, err)
		}
	}
}

// TestDoctorUsage: a missing config, one that does not adapt, or an
// unreadable .env are usage errors (exit 2) that say what is wrong.
func TestDoctorUsage(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "Caddyfile")
	must(t, os.WriteFile(broken, []byte("http://x.localhost {\n\toutstatic {\n\t\tnope\n\t}\n}\n"), 0o600))
	good := filepath.Join(dir, "ok.Caddyfile")
	must(t, os.WriteFile(good, []byte("http://x.localhost {\n\trespond ok\n}\n"), 0o600))
	for _, c := range []struct{ config, env, want string }{
		{"", "", "--config is required"},
		{filepath.Join(dir, "missing"), "", "no such file"},
		{broken, "", `unknown subdirective "nope"`},
		{good, filepath.Join(dir, "missing.env"), "missing.env"},
	} {
		var out, errOut bytes.Buffer
		if code := (cli.Doctor{Config: c.config, Adapter: "caddyfile", Env: c.env}).Run(context.Background(), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q %q: exit %d, stderr %q; want 2 and %q", c.config, c.env, code, errOut.String(), c.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDoctorReadsTheModulesJSON: what the doctor reads of an adapted
// config (doctor.FromConfig, which knows the handlers' JSON without this
// package) is what the guard and the relay write: a guard's origins, key,
// service and token_store, a relay's storage and token_store, the
// upstreams beside the guard, and a subroute's handlers in order.
func TestDoctorReadsTheModulesJSON(t *testing.T) {
	redis := func(addr string) *RelayRedis {
		return &RelayRedis{Addresses: []string{addr}, Username: "relay", Password: "{env.TEST_DOCTOR_REDIS}", DB: 3}
	}
	g := Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"}, AppOrigins: []string{"http://localhost:3000"},
		APIKey: "{env.TEST_DOCTOR_KEY}", Service: "https://relay.example.com", TokenStore: &SharedStore{Redis: redis("10.0.0.1:6379")}}
	rl := Relay{Redis: redis("10.0.0.2:6379"), TokenStore: &SharedStore{Redis: redis("10.0.0.3:6379")}}
	handler := func(name string, v any) json.RawMessage {
		raw, err := json.Marshal(v)
		must(t, err)
		return json.RawMessage(`{"handler":"` + name + `",` + string(raw[1:]))
	}
	routes := []map[string]any{{"handle": []json.RawMessage{
		json.RawMessage(`{"handler":"subroute","routes":[{"handle":[` + string(handler("outstatic", g)) + `]}]}`),
		json.RawMessage(`{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:3000"}]}`),
		handler("outstatic_relay", rl),
	}}}
	cfg, err := json.Marshal(map[string]any{"apps": map[string]any{"http": map[string]any{"servers": map[string]any{"srv0": map[string]any{"routes": routes}}}}})
	must(t, err)
	expand := strings.NewReplacer("{env.TEST_DOCTOR_KEY}", "the-key", "{env.TEST_DOCTOR_REDIS}", "the-password").Replace
	d, err := doctor.FromConfig(cfg, "/data", expand)
	must(t, err)
	wantGuards := []doctor.Guard{{Server: "srv0", CallbackOrigins: g.CallbackOrigins, AppOrigins: g.AppOrigins, APIKey: "the-key",
		Service: g.Service, Upstreams: []string{"127.0.0.1:3000"}}}
	wantRedis := []doctor.Redis{
		{Where: "guard token_store", Config: *g.TokenStore.Redis},
		{Where: "relay token_store", Config: *rl.TokenStore.Redis},
		{Where: "relay storage", Config: *rl.Redis},
	}
	if !reflect.DeepEqual(d.Guards, wantGuards) || d.StorageDir != "/data" {
		t.Errorf("read %+v in %q\nwant %+v", d.Guards, d.StorageDir, wantGuards)
	}
	if len(d.Redis) != len(wantRedis) {
		t.Fatalf("redis: %+v", d.Redis)
	}
	for i, r := range d.Redis {
		if r.Where != wantRedis[i].Where || !reflect.DeepEqual(r.Config, wantRedis[i].Config) || r.Expand == nil || r.Expand(r.Config.Password) != "the-password" {
			t.Errorf("redis %d: %+v, want %+v expanded", i, r, wantRedis[i])
		}
	}
}

// TestDoctorRedisFromCaddyfile: the doctor reads a token_store's redis
// block from the Caddyfile, expands its password placeholder from the
// environment, logs in as the ACL user and reports the form, the role and
// the TLS state, without the password.
func TestDoctorRedisFromCaddyfile(t *testing.T) {
	const password = "pw-doctor-caddyfile"
	srv := testredis.Start(t, testredis.WithACL("guard", password))
	t.Setenv("TEST_DOCTOR_REDIS_PASSWORD", password)
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	must(t, os.WriteFile(path, []byte(`http://blog.localhost {
	outstatic {
		callback_origin http://blog.localhost/outstatic
		token_store redis `+srv.Addr+` {
			username guard
			password {env.TEST_DOCTOR_REDIS_PASSWORD}
		}
	}
}
`), 0o600))
	var out, errOut bytes.Buffer
	cli.Doctor{Config: path, Adapter: "caddyfile"}.Run(context.Background(), &out, &errOut)
	want := "ok       redis guard token_store " + srv.Addr + ": answers: one server, role master, no TLS"
	if !strings.Contains(out.String(), want) || errOut.Len() > 0 {
		t.Errorf("the report lacks\n  %s\nreport:\n%s%s", want, out.String(), errOut.String())
	}
	if strings.Contains(out.String(), password) {
		t.Error("the report shows the password")
	}
}

// TestDoctorWhenCaddyIsDown: with no Caddy on the config's admin address,
// the doctor and the commands that call the admin API ask whether Caddy
// runs and say where they looked; a relay with dev_login is a warning,
// which alone does not fail the run.
func TestDoctorWhenCaddyIsDown(t *testing.T) {
	admin := fmt.Sprintf("localhost:%d", freeLoopbackPort())
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	must(t, os.WriteFile(path, []byte(`{
	admin `+admin+`
	storage file_system `+filepath.Join(dir, "storage")+`
}
http://localhost:9 {
	bind 127.0.0.1
	handle_path /relay/* {
		outstatic_relay {
			public_url http://localhost:9/relay
			dev_login
			project demo {
				repo acme/demo
				callback_origin http://localhost:9/outstatic
				member ada owner
			}
		}
	}
}
`), 0o600))
	var out, errOut bytes.Buffer
	code := cli.Doctor{Config: path, Adapter: "caddyfile"}.Run(context.Background(), &out, &errOut)
	report := out.String()
	for _, want := range []string{
		"FINDING  caddy " + admin + ": performing request: ",
		": is Caddy running? (admin API at " + admin + "); fix: start Caddy with this config",
		"WARN     dev_login http://localhost:9/relay: dev_login is on: anyone who reaches the relay signs in as any member, without a password; fix: remove dev_login",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks\n  %s\nreport:\n%s%s", want, report, errOut.String())
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1: Caddy is not running", code)
	}

	// The warning alone: the same relay with its admin API turned off
	// (nothing to ask) passes with the warning printed.
	written, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(path, bytes.Replace(written, []byte("admin "+admin), []byte("admin off"), 1), 0o600))
	out.Reset()
	if code := (cli.Doctor{Config: path, Adapter: "caddyfile"}).Run(context.Background(), &out, &errOut); code != 0 || !strings.Contains(out.String(), "WARN     dev_login") || strings.Contains(out.String(), "caddy localhost") {
		t.Errorf("admin off: exit %d, report:\n%s", code, out.String())
	}

	if testing.Short() {
		return
	}
	res, err := exec.Command(caddyBinary(t), "outstatic", "key", "list", "--address", admin).CombinedOutput()
	if want := "is Caddy running? (admin API at " + admin + ")"; err == nil || !strings.Contains(string(res), want) {
		t.Errorf("caddy outstatic key list: %v\n%s\nwant it to say %q", err, res, want)
	}
}
