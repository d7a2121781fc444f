package outstatic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// The compose example (examples/compose/) cannot be run here (no Docker
// engine), so these tests check what can be checked without one: that
// compose.yaml, .env.example, the Caddyfile and the two Dockerfiles agree
// with each other, that no secret is written into any of them, and that the
// Caddyfile adapts with the values .env.example documents.

const composeDir = "examples/compose"

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	DependsOn   composeDependsOn  `yaml:"depends_on"`
	Command     []string          `yaml:"command"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// composeDependsOn is depends_on in either of compose's forms: a list of
// services, or a map of service to its condition.
type composeDependsOn map[string]string

func (d *composeDependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = composeDependsOn{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, svc := range list {
			(*d)[svc] = ""
		}
		return nil
	}
	var long map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	for svc, c := range long {
		(*d)[svc] = c.Condition
	}
	return nil
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// composeSecretName says whether a variable holds a secret, by its name.
func composeSecretName(name string) bool {
	for _, s := range []string{"KEY", "SECRET", "PASSWORD", "TOKEN"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// composeVar matches compose's interpolations: ${NAME}, ${NAME:-default},
// ${NAME-default}, ${NAME:?message}, ${NAME?message}.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

func loadCompose(t *testing.T) (composeFile, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	env := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(composeDir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env.example:%d: not NAME=value: %q", i+1, line)
		}
		env[k] = v
	}
	return c, env
}

// composeInterpolate does what compose does with a value, taking variables from
// env; a variable that is empty there gets a sentinel, so that a test can
// see where it went.
func composeInterpolate(v string, env map[string]string) string {
	return composeVar.ReplaceAllStringFunc(v, func(m string) string {
		sub := composeVar.FindStringSubmatch(m)
		if val := env[sub[1]]; val != "" {
			return val
		}
		if sub[2] == ":-" || sub[2] == "-" {
			return sub[3]
		}
		return "sentinel-" + strings.ToLower(sub[1])
	})
}

// TestComposeSecrets: every variable compose.yaml interpolates is documented
// in .env.example; a secret reaches a container only as ${NAME} from the
// environment (never a literal in compose.yaml, .env.example, a Dockerfile or
// the Caddyfile); .env itself is kept out of git and of the build context.
func TestComposeSecrets(t *testing.T) {
	c, env := loadCompose(t)
	data, _ := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	for _, m := range composeVar.FindAllStringSubmatch(string(data), -1) {
		if _, ok := env[m[1]]; !ok {
			t.Errorf("compose.yaml uses ${%s}, which .env.example does not document", m[1])
		}
	}
	for name, val := range env {
		if composeSecretName(name) && val != "" {
			t.Errorf(".env.example gives secret %s a value", name)
		}
	}
	for sname, s := range c.Services {
		for name, val := range s.Environment {
			if !composeSecretName(name) {
				continue
			}
			if m := composeVar.FindStringSubmatch(val); m == nil || m[0] != val || m[1] != name || m[2] == ":-" || m[2] == "-" {
				t.Errorf("service %s: secret %s is %q, want ${%s:?...} from the environment", sname, name, val, name)
			}
		}
		for _, arg := range s.Command {
			if strings.Contains(arg, "${") {
				t.Errorf("service %s: command interpolates %q when compose reads the file (shown by docker inspect); use $$NAME for the container's shell", sname, arg)
			}
		}
	}
	for _, f := range []string{"Dockerfile", filepath.Join(composeDir, "site", "Dockerfile")} {
		df, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(df), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 1 && (strings.EqualFold(fields[0], "ENV") || strings.EqualFold(fields[0], "ARG")) && composeSecretName(strings.ToUpper(line)) {
				t.Errorf("%s bakes a secret into the image: %s", f, line)
			}
		}
	}
	cf, _ := os.ReadFile(filepath.Join(composeDir, "Caddyfile"))
	for _, m := range regexp.MustCompile(`\{\$([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(cf), -1) {
		if composeSecretName(m[1]) {
			t.Errorf("Caddyfile reads secret %s as {$%s}, which the adapter bakes into the JSON; use {env.%s}", m[1], m[1], m[1])
		}
	}
	gi, _ := os.ReadFile(filepath.Join(composeDir, ".gitignore"))
	if !slices.Contains(strings.Fields(string(gi)), ".env") {
		t.Error("examples/compose/.gitignore does not ignore .env")
	}
	di, _ := os.ReadFile(".dockerignore")
	if !slices.Contains(strings.Fields(string(di)), "examples/compose/.env") {
		t.Error(".dockerignore does not keep examples/compose/.env out of the build context")
	}
}

// TestComposeWiring: the services, their environment and volumes fit the
// Caddyfile and the Dockerfiles. Every {env.X} and {$X} the Caddyfile reads
// is in the Caddy service's environment; the site's OUTSTATIC_API_URL is the
// relay's public URL as the adapted Caddyfile serves it; the upstreams
// Caddy dials are compose services exposing those ports; the site and Caddy
// share one key; Caddy's Caddyfile, /data and /config are mounted where the
// image's CMD and volumes expect them.
func TestComposeWiring(t *testing.T) {
	c, env := loadCompose(t)
	for _, name := range []string{"site", "caddy", "redis"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose.yaml has no service %q", name)
		}
	}
	caddySvc, site := c.Services["caddy"], c.Services["site"]

	// builds: the repository's Dockerfile for Caddy, the site's for the site
	for name, want := range map[string]string{"caddy": "Dockerfile", "site": "examples/compose/site/Dockerfile"} {
		b := c.Services[name].Build
		if b == nil {
			t.Fatalf("service %s is not built", name)
		}
		ctx := filepath.Clean(filepath.Join(composeDir, b.Context))
		if ctx != "." {
			t.Errorf("service %s: build context %s, want the repository root", name, b.Context)
		}
		if filepath.Clean(filepath.Join(ctx, b.Dockerfile)) != want {
			t.Errorf("service %s: dockerfile %s, want %s", name, b.Dockerfile, want)
		}
		if _, err := os.Stat(want); err != nil {
			t.Error(err)
		}
	}
	// what the site's Dockerfile copies is in the build context
	sdf, _ := os.ReadFile(filepath.Join(composeDir, "site", "Dockerfile"))
	for _, m := range regexp.MustCompile(`(?m)^COPY ((?:--\S+ )*)(.+) \S+$`).FindAllStringSubmatch(string(sdf), -1) {
		if strings.Contains(m[1], "--from=") {
			continue // from an earlier stage
		}
		for _, src := range strings.Fields(m[2]) {
			if _, err := os.Stat(src); err != nil {
				t.Errorf("site/Dockerfile copies %s: %v", src, err)
			}
		}
	}

	// every placeholder the Caddyfile reads is in Caddy's environment
	cf, err := os.ReadFile(filepath.Join(composeDir, "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`\{(?:env\.|\$)([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(cf), -1)
	if len(read) == 0 {
		t.Fatal("the Caddyfile reads no variable")
	}
	for _, m := range read {
		if _, ok := caddySvc.Environment[m[1]]; !ok {
			t.Errorf("the Caddyfile reads %s, which the caddy service's environment lacks", m[1])
		}
	}
	if caddySvc.Environment["OUTSTATIC_API_KEY"] != site.Environment["OUTSTATIC_API_KEY"] {
		t.Errorf("the site and Caddy get different keys: %q, %q",
			site.Environment["OUTSTATIC_API_KEY"], caddySvc.Environment["OUTSTATIC_API_KEY"])
	}

	// adapt it with .env.example's values as compose would pass them
	for name, val := range caddySvc.Environment {
		t.Setenv(name, composeInterpolate(val, env))
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(cf, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	for name, val := range caddySvc.Environment {
		if composeSecretName(name) && strings.Contains(string(out), composeInterpolate(val, env)) {
			t.Errorf("the adapted JSON holds %s's value", name)
		}
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}

	// the relay's public URL, as served: the site's host and the path its
	// handler is matched on
	host := env["SITE_DOMAIN"]
	relayPaths := composeMatchedPaths(cfg, "outstatic_relay", nil)
	if len(relayPaths) != 1 || !strings.HasSuffix(relayPaths[0], "/*") {
		t.Fatalf("relay served on paths %v, want one prefix", relayPaths)
	}
	relayURL := "https://" + host + strings.TrimSuffix(relayPaths[0], "/*")
	if got := composeInterpolate(site.Environment["OUTSTATIC_API_URL"], env); got != relayURL {
		t.Errorf("site's OUTSTATIC_API_URL is %s, the relay is served at %s", got, relayURL)
	}
	hosts := composeCollect(cfg, "host")
	if !slices.Contains(hosts, host) {
		t.Errorf("the adapted config serves hosts %v, not %s", hosts, host)
	}
	for _, origin := range composeCollect(cfg, "callback_origins") {
		if origin != "https://"+host+"/outstatic" {
			t.Errorf("callback origin %s, want https://%s/outstatic", origin, host)
		}
	}
	for _, key := range composeCollect(cfg, "api_key", "api_keys") {
		if key != "{env.OUTSTATIC_API_KEY}" {
			t.Errorf("api key %q, want {env.OUTSTATIC_API_KEY}", key)
		}
	}

	// what Caddy dials is a compose service exposing that port
	dials := composeCollect(cfg, "dial", "address", "addresses")
	if len(dials) < 2 {
		t.Fatalf("dials %v: want the site and Redis", dials)
	}
	for _, d := range dials {
		svc, port, _ := strings.Cut(d, ":")
		s, ok := c.Services[svc]
		if !ok {
			t.Errorf("Caddy dials %s: no such service", d)
			continue
		}
		if !slices.Contains(s.Expose, port) {
			t.Errorf("Caddy dials %s: the service exposes %v", d, s.Expose)
		}
		if _, ok := caddySvc.DependsOn[svc]; !ok {
			t.Errorf("caddy does not depend on %s", svc)
		}
	}

	// volumes: where the image expects them, declared at the top level
	df, _ := os.ReadFile("Dockerfile")
	for _, want := range []string{`"/etc/caddy/Caddyfile"`, `VOLUME ["/data", "/config"]`, "XDG_DATA_HOME=/data", "XDG_CONFIG_HOME=/config", "USER caddy"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	mounts := map[string]string{}
	for _, v := range caddySvc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Fatalf("volume %q", v)
		}
		mounts[parts[1]] = parts[0]
		if !strings.HasPrefix(parts[0], ".") {
			if _, ok := c.Volumes[parts[0]]; !ok {
				t.Errorf("volume %s is not declared", parts[0])
			}
		} else if _, err := os.Stat(filepath.Join(composeDir, parts[0])); err != nil {
			t.Error(err)
		}
	}
	if filepath.Clean(mounts["/etc/caddy/Caddyfile"]) != "Caddyfile" {
		t.Errorf("the Caddyfile is mounted from %q", mounts["/etc/caddy/Caddyfile"])
	}
	for _, dir := range []string{"/data", "/config"} {
		if mounts[dir] == "" {
			t.Errorf("%s is not on a volume: certificates and the relay's store would not survive", dir)
		}
	}
	if len(site.Ports) != 0 || len(c.Services["redis"].Ports) != 0 {
		t.Error("the site or Redis publishes a port: only Caddy should be reachable")
	}
}

// composeMatchedPaths returns the path matchers of the routes whose handlers
// include handler, innermost first.
func composeMatchedPaths(v any, handler string, paths []string) []string {
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == handler {
			return paths
		}
		if ms, ok := v["match"].([]any); ok {
			for _, m := range ms {
				if mm, ok := m.(map[string]any); ok {
					if p, ok := mm["path"].([]any); ok {
						for _, s := range p {
							paths = append([]string{s.(string)}, paths...)
						}
					}
				}
			}
		}
		for k, sub := range v {
			if k == "match" {
				continue
			}
			if got := composeMatchedPaths(sub, handler, paths); got != nil {
				return got
			}
		}
	case []any:
		for _, sub := range v {
			if got := composeMatchedPaths(sub, handler, paths); got != nil {
				return got
			}
		}
	}
	return nil
}

// composeCollect returns every string found under one of keys, anywhere in v.
func composeCollect(v any, keys ...string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if slices.Contains(keys, k) {
				switch s := sub.(type) {
				case string:
					out = append(out, s)
				case []any:
					for _, e := range s {
						if str, ok := e.(string); ok {
							out = append(out, str)
						}
					}
				}
			}
			out = append(out, composeCollect(sub, keys...)...)
		}
	case []any:
		for _, sub := range v {
			out = append(out, composeCollect(sub, keys...)...)
		}
	}
	return out
}

// TestDockerfile: the image builds this module (its go.mod path, from the
// build context) against the Caddy version go.mod requires, in builder and
// runtime images of that same version, and .dockerignore keeps what the
// builds need.
func TestDockerfile(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	path := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(mod)
	ver := regexp.MustCompile(`(?m)^\s*github\.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(mod)
	if path == nil || ver == nil {
		t.Fatal("go.mod: no module path or caddy version")
	}
	v := strings.TrimPrefix(string(ver[1]), "v")
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"FROM caddy:" + v + "-builder AS builder",
		"COPY . /src",
		"xcaddy build " + string(ver[1]),
		"--with " + string(path[1]) + "=/src",
		"FROM caddy:" + v + "\n",
		"COPY --from=builder /usr/bin/caddy /usr/bin/caddy",
	} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	di, _ := os.ReadFile(".dockerignore")
	for _, line := range strings.Fields(string(di)) {
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "testdata/stock-site", "examples/compose/site"} {
			if line == needed || line == needed+"/" {
				t.Errorf(".dockerignore leaves out %s, which a build needs", needed)
			}
		}
	}
}
