// Expanding the {env.*} and {file.*} placeholders that secrets and keys
// are written with, and the one error for a placeholder that expands to
// nothing, whichever block it is in.

package outstatic

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/internal/runas"
	"github.com/caddyserver/caddy/v2"
)

// secretPlaceholder finds the {env.*} and {file.*} placeholders of a
// configured value: the kind and the variable's name or the file's path.
var secretPlaceholder = regexp.MustCompile(`\{(env|file)\.([^{}]+)\}`)

// expandSecret expands the placeholders of raw, the value of the
// subdirective field (named as the Caddyfile writes it, with its block:
// "github client_secret"). An empty raw is no value and expands to "".
// A placeholder that expands to nothing, or a value that does, is an
// error naming the placeholder and why: the variable is not set or is
// empty, the file is missing, unreadable or empty.
func expandSecret(repl *caddy.Replacer, field, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	for _, m := range secretPlaceholder.FindAllStringSubmatch(raw, -1) {
		if strings.TrimSpace(repl.ReplaceKnown(m[0], "")) == "" {
			return "", fmt.Errorf("%s: %s expands to nothing: %s", field, m[0], whyEmpty(m[1], m[2]))
		}
	}
	v := repl.ReplaceKnown(raw, "")
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s: %s expands to nothing: give the value, or an {env.*} or {file.*} placeholder that holds it", field, raw)
	}
	return v, nil
}

// whyEmpty says why the placeholder of kind env or file named name
// expanded to nothing, and what to do.
func whyEmpty(kind, name string) string {
	if kind == "env" {
		if _, set := os.LookupEnv(name); set {
			return fmt.Sprintf("the environment variable %s is set but empty; give it the value", name)
		}
		return fmt.Sprintf("the environment variable %s is not set in Caddy's environment; set it where Caddy starts (the service's Environment= or EnvironmentFile=, compose's environment:)", name)
	}
	wd, _ := os.Getwd()
	_, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the file %s does not exist (a relative path is read from %s); create it or give its absolute path", name, wd)
	case err != nil:
		return fmt.Sprintf("the file %s cannot be read: %v", name, err)
	}
	if _, err := os.ReadFile(name); err != nil {
		return fmt.Sprintf("the file %s cannot be read by the user Caddy runs as (%s): %v", name, runas.User(), err)
	}
	return fmt.Sprintf("the file %s is empty; write the value into it", name)
}
