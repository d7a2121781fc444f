package outstatic

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What the images and the compose example must do to start in order and
// build anywhere, checked without a Docker engine: a builder that may
// fetch the Go the module names, pinned base images, health checks that
// compose's depends_on waits for, and nothing that only BuildKit
// understands.

// dockerInstruction is one instruction of a Dockerfile, its continuation
// lines joined.
type dockerInstruction struct {
	Cmd  string // upper case: FROM, RUN, ENV...
	Args string
	Line int
}

// dockerInstructions reads a Dockerfile's instructions; comments and
// parser directives are left out.
func dockerInstructions(t *testing.T, path string) []dockerInstruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstruction
	var cur *dockerInstruction
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(trimmed, " ")
			out = append(out, dockerInstruction{Cmd: strings.ToUpper(cmd), Line: i + 1})
			cur, trimmed = &out[len(out)-1], args
		}
		more := strings.HasSuffix(trimmed, "\\")
		cur.Args = strings.TrimSpace(cur.Args + " " + strings.TrimSuffix(trimmed, "\\"))
		if !more {
			cur = nil
		}
	}
	return out
}

// stages splits instructions at each FROM.
func stages(ins []dockerInstruction) [][]dockerInstruction {
	var out [][]dockerInstruction
	for _, in := range ins {
		if in.Cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// pinnedImage is an image named by an exact version (a tag starting with
// major.minor.patch), with an optional digest.
var pinnedImage = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*:\d+\.\d+\.\d+(?:-[a-z0-9.-]+)?(?:@sha256:[0-9a-f]{64})?$`)

// buildKitOnly matches what the classic builder does not understand:
// RUN --mount/--network/--security, COPY/ADD --link/--chmod/--parents/
// --exclude, heredocs.
var buildKitOnly = regexp.MustCompile(`--(?:mount|network|security|link|chmod|parents|exclude)\b|<<-?\s*["']?[A-Za-z_]+`)

// TestDockerfileBuild: the builder stage lets Go fetch the toolchain
// go.mod names (the golang images set GOTOOLCHAIN=local); every base
// image is pinned by version; the final images have a HEALTHCHECK; /data
// and /config are owned by the image's user through a plain RUN before
// they become volumes; nothing needs BuildKit.
func TestDockerfileBuild(t *testing.T) {
	for _, path := range []string{"Dockerfile", filepath.Join(composeDir, "site", "Dockerfile")} {
		data, _ := os.ReadFile(path)
		if strings.HasPrefix(strings.TrimSpace(string(data)), "# syntax=") {
			t.Errorf("%s names a BuildKit frontend (# syntax=)", path)
		}
		ins := dockerInstructions(t, path)
		st := stages(ins)
		if len(st) == 0 {
			t.Fatalf("%s has no FROM", path)
		}
		for _, stage := range st {
			image := strings.Fields(stage[0].Args)[0]
			if !pinnedImage.MatchString(image) {
				t.Errorf("%s:%d: FROM %s is not pinned by version (name:X.Y.Z, optionally @sha256:...)", path, stage[0].Line, image)
			}
		}
		for _, in := range ins {
			if (in.Cmd == "RUN" || in.Cmd == "COPY" || in.Cmd == "ADD") && buildKitOnly.MatchString(in.Args) {
				t.Errorf("%s:%d: %s %s needs BuildKit", path, in.Line, in.Cmd, in.Args)
			}
		}
		final := st[len(st)-1]
		var health *dockerInstruction
		for i := range final {
			if final[i].Cmd == "HEALTHCHECK" {
				health = &final[i]
			}
		}
		if health == nil || !strings.Contains(health.Args, "CMD ") && !strings.Contains(health.Args, "CMD [") {
			t.Errorf("%s: the image has no HEALTHCHECK ... CMD", path)
		}
	}

	st := stages(dockerInstructions(t, "Dockerfile"))
	if len(st) != 2 {
		t.Fatalf("Dockerfile: %d stages, want the builder and the image", len(st))
	}
	toolchain := false
	for _, in := range st[0] {
		if in.Cmd == "ENV" && regexp.MustCompile(`(^|\s)GOTOOLCHAIN=auto(\s|$)`).MatchString(in.Args) {
			toolchain = true
		}
		if in.Cmd == "RUN" && strings.Contains(in.Args, "xcaddy build") && !toolchain {
			t.Error("Dockerfile: xcaddy builds before ENV GOTOOLCHAIN=auto")
		}
	}
	if !toolchain {
		t.Error("Dockerfile: the builder stage does not set ENV GOTOOLCHAIN=auto (the golang images set local)")
	}
	// /data and /config: made and chowned by a RUN, before VOLUME and USER.
	var chowned, volume, user int
	for i, in := range st[1] {
		switch {
		case in.Cmd == "RUN" && regexp.MustCompile(`chown -R caddy:caddy /data /config`).MatchString(in.Args) && strings.Contains(in.Args, "mkdir -p /data/caddy /config/caddy"):
			chowned = i
		case in.Cmd == "VOLUME":
			volume = i
		case in.Cmd == "USER":
			user = i
		}
	}
	if chowned == 0 || volume == 0 || user == 0 || chowned > volume || chowned > user {
		t.Errorf("Dockerfile: /data and /config must be made and chowned by a RUN before VOLUME and USER (RUN at %d, VOLUME at %d, USER at %d)", chowned, volume, user)
	}
}

// TestComposeHealth: Caddy starts once every service it depends on is
// healthy, and each of those has a health check (in compose.yaml or in the
// HEALTHCHECK of the Dockerfile it is built from); images are pinned by
// version.
func TestComposeHealth(t *testing.T) {
	c, _ := loadCompose(t)
	caddySvc := c.Services["caddy"]
	if len(caddySvc.DependsOn) == 0 {
		t.Fatal("the caddy service depends on nothing")
	}
	for svc, condition := range caddySvc.DependsOn {
		if condition != "service_healthy" {
			t.Errorf("caddy depends on %s with condition %q, want service_healthy", svc, condition)
		}
		s := c.Services[svc]
		if s.Healthcheck != nil && len(s.Healthcheck.Test) > 0 {
			continue
		}
		if s.Build == nil {
			t.Errorf("service %s has no healthcheck and is not built from a Dockerfile with one", svc)
			continue
		}
		found := false
		for _, in := range dockerInstructions(t, filepath.Join(composeDir, s.Build.Context, s.Build.Dockerfile)) {
			found = found || in.Cmd == "HEALTHCHECK"
		}
		if !found {
			t.Errorf("service %s: neither compose.yaml nor %s has a health check", svc, s.Build.Dockerfile)
		}
	}
	for name, s := range c.Services {
		if s.Image != "" && !pinnedImage.MatchString(s.Image) {
			t.Errorf("service %s: image %s is not pinned by version", name, s.Image)
		}
		if s.Healthcheck != nil {
			for _, arg := range s.Healthcheck.Test {
				if strings.Contains(arg, "${") {
					t.Errorf("service %s: the healthcheck interpolates %q when compose reads the file; use $$NAME", name, arg)
				}
			}
		}
	}
}
