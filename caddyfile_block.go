// What every Caddyfile block of the two directives reads the same way: a
// block's subdirectives from a table, each single-valued one once, an
// unknown one refused with the nearest known name; the readers of one
// subdirective's arguments; and the key check's subdirectives, which both
// directives take. Every error names the token and its line.

package outstatic

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/suggest"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// subdirectives maps each subdirective of a block to what reads its
// arguments (and its own block, if it has one). The dispenser is at the
// subdirective's name when it runs.
type subdirectives map[string]func() error

// readBlock reads the block after the directive or subdirective at d;
// block names it in errors ("outstatic", "storage redis"). Each
// subdirective is read by its entry in subs, at most once unless it is
// repeatable: one that fills a list (named in the singular, filling a
// plural JSON key, as is Caddy's convention), where a second would not
// silently replace the first. An unknown subdirective is refused with the
// nearest known one, or, with none near, the list of those the block takes.
func readBlock(d *caddyfile.Dispenser, block string, subs subdirectives, repeatable ...string) error {
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		read, ok := subs[name]
		if !ok {
			known := slices.Sorted(maps.Keys(subs))
			hint := suggest.DidYouMean(name, known...)
			if hint == "" {
				hint = "; it takes " + strings.Join(known, ", ")
			}
			return unknownSubdirective{d.Errf("unknown subdirective %q of %s%s", name, block, hint), block, name, known}
		}
		if seen[name] && !slices.Contains(repeatable, name) {
			return d.Errf("%s is given twice; it takes one value", name)
		}
		seen[name] = true
		if err := read(); err != nil {
			return err
		}
	}
	return nil
}

// unknownSubdirective is readBlock's error for a name its block does not
// have: the dispenser's error, with the block's table, which lets a test
// walk every block the parser has.
type unknownSubdirective struct {
	error
	block string   // the block, as readBlock names it
	name  string   // the unknown name
	known []string // the block's subdirectives, sorted
}

// readArglessBlock reads a subdirective that takes a block and no
// argument.
func readArglessBlock(d *caddyfile.Dispenser, block string, subs subdirectives) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return readBlock(d, block, subs)
}

// argError is a refused argument of the subdirective at d: err, prefixed
// with the subdirective's name unless it starts with it already.
func argError(d *caddyfile.Dispenser, name string, err error) error {
	if strings.HasPrefix(err.Error(), name+" ") || strings.HasPrefix(err.Error(), name+":") {
		return d.Errf("%v", err)
	}
	return d.Errf("%s: %v", name, err)
}

// The readers of a subdirective's arguments, for subdirectives tables.
// Each reads its subdirective's arguments when it runs and sets its
// target, so that an error stops the parse at the subdirective's line.

// readFlag reads a subdirective that takes no argument: it sets *to.
func readFlag(d *caddyfile.Dispenser, to *bool) func() error {
	return func() error {
		if d.NextArg() {
			return d.ArgErr()
		}
		*to = true
		return nil
	}
}

// readWord reads the one argument of a subdirective into *to; check, if
// not nil, judges it first.
func readWord(d *caddyfile.Dispenser, to *string, check func(string) error) func() error {
	return func() error {
		name := d.Val()
		v, err := oneArg(d)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(v); err != nil {
				return argError(d, name, err)
			}
		}
		*to = v
		return nil
	}
}

// readList reads the one or more arguments of a subdirective, each judged
// by check, and appends them to *to.
func readList(d *caddyfile.Dispenser, to *[]string, check func(string) error) func() error {
	return func() error {
		name := d.Val()
		var list []string
		for d.NextArg() {
			if err := check(d.Val()); err != nil {
				return argError(d, name, err)
			}
			list = append(list, d.Val())
		}
		if len(list) == 0 {
			return d.ArgErr()
		}
		*to = append(*to, list...)
		return nil
	}
}

// readAppend reads a repeatable subdirective with parse and appends what
// it read to *to.
func readAppend[T any](d *caddyfile.Dispenser, to *[]T, parse func(*caddyfile.Dispenser) (T, error)) func() error {
	return func() error {
		v, err := parse(d)
		if err != nil {
			return err
		}
		*to = append(*to, v)
		return nil
	}
}

// readSecret reads a secret argument into *to (parseSecret).
func readSecret(d *caddyfile.Dispenser, to *string) func() error {
	return readWith(d, to, parseSecret)
}

// readDuration reads a positive duration into *to.
func readDuration(d *caddyfile.Dispenser, to *caddy.Duration) func() error {
	return readWith(d, to, parseDuration)
}

// readOnOff reads the single on|off argument of a switch into *to.
func readOnOff(d *caddyfile.Dispenser, to **bool) func() error {
	return func() error {
		b, err := parseOnOff(d)
		if err != nil {
			return err
		}
		*to = &b
		return nil
	}
}

// readWith reads a subdirective with parse, which reads its arguments and
// its block, into *to.
func readWith[T any](d *caddyfile.Dispenser, to *T, parse func(*caddyfile.Dispenser) (T, error)) func() error {
	return func() error {
		v, err := parse(d)
		if err != nil {
			return err
		}
		*to = v
		return nil
	}
}

// thenCheck runs read, then check on what it set, reporting check's error
// at the subdirective's line.
func thenCheck(d *caddyfile.Dispenser, read func() error, check func() error) func() error {
	return func() error {
		if err := read(); err != nil {
			return err
		}
		if err := check(); err != nil {
			return d.Errf("%v", err)
		}
		return nil
	}
}

// oneArg reads the single argument of the subdirective at d; a missing or
// an extra one is refused at the token after which it is wrong.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

// addSubdirectives adds the KeyCheck subdirectives, which the guard and
// the forward relay share, to subs.
func (k *KeyCheck) addSubdirectives(d *caddyfile.Dispenser, subs subdirectives) {
	subs["cache_ttl"] = readDuration(d, &k.CacheTTL)
	subs["negative_ttl"] = readDuration(d, &k.NegativeTTL)
	subs["stale_grace"] = readDuration(d, &k.StaleGrace)
	subs["check_timeout"] = readDuration(d, &k.CheckTimeout)
}

// parseOnOff reads the single on|off argument of a switch.
func parseOnOff(d *caddyfile.Dispenser) (bool, error) {
	name := d.Val()
	var args []string
	for d.NextArg() {
		args = append(args, d.Val())
	}
	if len(args) != 1 {
		return false, d.Errf("%s takes one argument, on or off", name)
	}
	switch args[0] {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, d.Errf("%s: %q is neither on nor off%s", name, args[0], suggest.DidYouMean(args[0], "off", "on"))
}

// parseDuration reads the single argument of a subdirective as a positive
// duration.
func parseDuration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s: %q is not a positive duration such as 10m", name, v)
	}
	return caddy.Duration(time.Duration(dur)), nil
}

// parseSecret reads a secret argument. A literal secret or a {$VAR}
// (expanded by the Caddyfile adapter) would land in the adapted JSON, so
// only runtime placeholders are taken (validate.CheckSecretPlaceholder).
func parseSecret(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return "", err
	}
	if err := validate.CheckSecretPlaceholder(v); err != nil {
		return "", d.Errf("%s %v", name, err)
	}
	return v, nil
}

// checkOrigin judges a callback origin (validate.ParseOrigin).
func checkOrigin(raw string) error {
	_, err := validate.ParseOrigin(raw)
	return err
}

// checkAppOrigin judges an app origin (parseAppOrigin).
func checkAppOrigin(raw string) error {
	_, err := parseAppOrigin(raw)
	return err
}

// blockErr reports what a whole block lacks at the line of its directive,
// in the form of the dispenser's own errors.
func blockErr(file string, line int, msg string) error {
	return fmt.Errorf("%s:%d - Error during parsing: %s", file, line, msg)
}
