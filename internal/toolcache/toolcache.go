// Package toolcache builds the programs the interop and browser tests run
// (Ory Hydra and Mailpit, tool dependencies of the interop module, and
// this repository's Caddy) into one folder kept between runs. go build
// leaves a binary that is up to date as it is, so a rerun costs a check,
// not a build; the first build on a cold machine takes minutes.
package toolcache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Tool is one program built with go build.
type Tool struct {
	// Name is the binary's name in Dir.
	Name string
	// Module is the folder, relative to the repository's root, whose
	// go.mod pins the program ("interop" for the tools, "." for Caddy).
	Module string
	// Package is what go build builds there.
	Package string
	// Tags are build tags; CGO turns cgo on (SQLite's driver needs it).
	Tags string
	CGO  bool
}

// The programs the tests build.
var (
	// Hydra is Ory Hydra (OpenID Certified), with SQLite for DSN=memory.
	Hydra = Tool{Name: "hydra", Module: "interop", Package: "github.com/ory/hydra/v2", Tags: "sqlite", CGO: true}
	// Mailpit is an SMTP server with STARTTLS, AUTH and an HTTP API.
	Mailpit = Tool{Name: "mailpit", Module: "interop", Package: "github.com/axllent/mailpit"}
	// Caddy is this repository's Caddy with the plugin (cmd/caddy).
	Caddy = Tool{Name: "caddy", Module: ".", Package: "./cmd/caddy"}
)

// buildTimeout bounds one build: from a cold build cache Hydra takes
// minutes on two cores, and many more on a busy machine.
const buildTimeout = 40 * time.Minute

// Dir is the folder built programs are kept in: $INTEROP_CACHE, else
// caddy-outstatic-interop in the user's cache folder.
func Dir() (string, error) {
	if d := os.Getenv("INTEROP_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache folder (set INTEROP_CACHE): %v", err)
	}
	return filepath.Join(base, "caddy-outstatic-interop"), nil
}

var builds sync.Map // Tool.Name → *build

type build struct {
	once sync.Once
	bin  string
	err  error
}

// Build brings tool up to date in Dir, once per process, and returns the
// binary's path; root is the repository's root folder.
func Build(root string, tool Tool) (string, error) {
	v, _ := builds.LoadOrStore(tool.Name, new(build))
	b := v.(*build)
	b.once.Do(func() { b.bin, b.err = tool.build(root) })
	return b.bin, b.err
}

func (tool Tool) build(root string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, tool.Name)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := []string{"build", "-o", bin}
	if tool.Tags != "" {
		args = append(args, "-tags", tool.Tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, tool.Package)...)
	cmd.Dir = filepath.Join(root, tool.Module)
	cmd.Env = os.Environ()
	if tool.CGO {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s (go %v in %s): %v\n%s", tool.Name, args, cmd.Dir, err, out.String())
	}
	return bin, nil
}
