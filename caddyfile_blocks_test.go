package outstatic

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// The blocks of the two directives, found by walking the parser's own
// tables: every block answers an unknown subdirective with its table
// (unknownSubdirective), and a subdirective opens a block when a probe
// word inside its braces reaches a table of its own. A block added to the
// parser is found without touching these tests.

// probeWord is a subdirective no block has.
const probeWord = "zz_probe"

// openArgs are the arguments tried, in order, on each subdirective to open
// its block: none (ai, github, tls), a name (project, oidc, sentinel),
// a store (storage, token_store).
var openArgs = []string{"", "x", "redis 127.0.0.1:6379"}

// parsedBlock is one block of a directive as the walk found it.
type parsedBlock struct {
	// directive is outstatic or outstatic_relay.
	directive string
	// opens are the lines that open it, outermost first, each ending in
	// "{": "outstatic_relay {", "storage redis 127.0.0.1:6379 {".
	opens []string
	// name is the block as its errors name it ("storage redis").
	name string
	// subs are its subdirectives, sorted.
	subs []string
}

// path names the block by the subdirectives that open it.
func (b parsedBlock) path() string {
	var words []string
	for _, o := range b.opens {
		words = append(words, strings.Fields(o)[0])
	}
	return strings.Join(words, " > ")
}

// text is a Caddyfile of the block's directive with lines inside the
// block, every block closed.
func (b parsedBlock) text(lines ...string) string {
	var s strings.Builder
	for i, o := range b.opens {
		s.WriteString(strings.Repeat(" ", i) + o + "\n")
	}
	for _, l := range lines {
		s.WriteString(strings.Repeat(" ", len(b.opens)) + l + "\n")
	}
	for i := len(b.opens) - 1; i >= 0; i-- {
		s.WriteString(strings.Repeat(" ", i) + "}\n")
	}
	return s.String()
}

// parseDirective runs the directive's own parser on text.
func parseDirective(directive, text string) error {
	d := caddyfile.NewTestDispenser(text)
	if directive == "outstatic" {
		return new(Guard).UnmarshalCaddyfile(d)
	}
	return new(Relay).UnmarshalCaddyfile(d)
}

// probe parses the block opened by opens with the probe word in it, and
// returns the table that answered it, if the probe reached one of its
// own (and not the enclosing block's, which answers "{" instead).
func probe(directive string, opens []string) (*unknownSubdirective, error) {
	err := parseDirective(directive, parsedBlock{opens: opens}.text(probeWord))
	var u unknownSubdirective
	if errors.As(err, &u) && u.name == probeWord {
		return &u, nil
	}
	return nil, err
}

// parserBlocks walks every block of both directives.
func parserBlocks(t *testing.T) []parsedBlock {
	t.Helper()
	var blocks []parsedBlock
	var walk func(directive string, opens []string, u *unknownSubdirective)
	walk = func(directive string, opens []string, u *unknownSubdirective) {
		blocks = append(blocks, parsedBlock{directive: directive, opens: opens, name: u.block, subs: u.known})
		for _, sub := range u.known {
			for _, args := range openArgs {
				open := strings.TrimSpace(sub+" "+args) + " {"
				next := append(slices.Clone(opens), open)
				if inner, _ := probe(directive, next); inner != nil {
					walk(directive, next, inner)
					break
				}
			}
		}
	}
	for _, directive := range []string{"outstatic", "outstatic_relay"} {
		opens := []string{directive + " {"}
		u, err := probe(directive, opens)
		if u == nil {
			t.Fatalf("%s: the probe got %v, not the table of unknown subdirectives", directive, err)
		}
		walk(directive, opens, u)
	}
	return blocks
}

// TestParserBlocksFound: the walk finds the blocks the README documents,
// so that the tests built on it cover them.
func TestParserBlocksFound(t *testing.T) {
	var found []string
	for _, b := range parserBlocks(t) {
		found = append(found, b.directive+": "+b.path())
	}
	for _, want := range []string{
		"outstatic: outstatic",
		"outstatic: outstatic > token_store",
		"outstatic: outstatic > token_store > tls",
		"outstatic: outstatic > token_store > sentinel",
		"outstatic_relay: outstatic_relay",
		"outstatic_relay: outstatic_relay > project",
		"outstatic_relay: outstatic_relay > project > ai",
		"outstatic_relay: outstatic_relay > ai",
		"outstatic_relay: outstatic_relay > github",
		"outstatic_relay: outstatic_relay > github_app",
		"outstatic_relay: outstatic_relay > oidc",
		"outstatic_relay: outstatic_relay > email",
		"outstatic_relay: outstatic_relay > storage",
		"outstatic_relay: outstatic_relay > storage > tls",
		"outstatic_relay: outstatic_relay > storage > sentinel",
		"outstatic_relay: outstatic_relay > token_store",
		"outstatic_relay: outstatic_relay > token_store > sentinel",
	} {
		if !slices.Contains(found, want) {
			t.Errorf("the walk did not find %s; found:\n%s", want, strings.Join(found, "\n"))
		}
	}
}

// typos are misspellings of sub that a user makes: a plural, a letter
// left off, two letters swapped.
func typos(sub string) []string {
	out := []string{sub + "s"}
	if len(sub) >= 4 {
		out = append(out, sub[:len(sub)-1])
	}
	if len(sub) >= 5 {
		b := []byte(sub)
		b[1], b[2] = b[2], b[1]
		if string(b) != sub {
			out = append(out, string(b))
		}
	}
	return out
}

// TestEveryBlockSuggestsTheNearest: in every block of both directives, a
// misspelled subdirective is refused at its line, naming the block, with
// the subdirective it was meant to be.
func TestEveryBlockSuggestsTheNearest(t *testing.T) {
	for _, b := range parserBlocks(t) {
		for _, sub := range b.subs {
			for _, typo := range typos(sub) {
				if slices.Contains(b.subs, typo) {
					continue
				}
				err := parseDirective(b.directive, b.text(typo+" x"))
				line := fmt.Sprintf("Testfile:%d", len(b.opens)+1)
				want := fmt.Sprintf("unknown subdirective %q of %s; did you mean %s?", typo, b.name, sub)
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), line) {
					t.Errorf("%s: %s: got %v, want %q at %s", b.directive, b.path(), err, want, line)
				}
			}
		}
	}
}

// TestEveryBlockListsWhatItTakes: in every block of both directives, a
// subdirective near none of the block's is refused with the list of all
// the block takes.
func TestEveryBlockListsWhatItTakes(t *testing.T) {
	for _, b := range parserBlocks(t) {
		err := parseDirective(b.directive, b.text(probeWord+" x"))
		want := fmt.Sprintf("unknown subdirective %q of %s; it takes %s", probeWord, b.name, strings.Join(b.subs, ", "))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %s: got %v, want %q", b.directive, b.path(), err, want)
		}
	}
}

// TestEnumeratedValuesSuggestTheNearest: a misspelled word of a fixed set
// (a switch, a plan, a TLS mode, a store, a route) gets the nearest one.
func TestEnumeratedValuesSuggestTheNearest(t *testing.T) {
	const nat = "outstatic_relay {\n public_url https://relay.example.com\n github {\n  client_id x\n  client_secret {env.S}\n }\n"
	const proj = " project blog {\n  repo acme/blog\n  callback_origin https://a.example/outstatic\n"
	const guard = "outstatic {\n callback_origin https://a.example/outstatic\n"
	for _, tc := range []struct{ directive, input, want string }{
		{"outstatic", guard + " bind_login of\n}", "; did you mean off?"},
		{"outstatic", guard + " refuse_pro_routes onn\n}", "; did you mean on?"},
		{"outstatic", guard + " keep_app_routes magiclink\n}", "; did you mean magic-link?"},
		{"outstatic", guard + " token_store reds 127.0.0.1:6379\n}", "; did you mean redis?"},
		{"outstatic_relay", nat + proj + "  plan prp\n }\n}", "; did you mean pro?"},
		{"outstatic_relay", nat + " email {\n  tls starttl\n }\n}", "; did you mean starttls?"},
		{"outstatic_relay", nat + " start_limit of\n}", "; did you mean off?"},
	} {
		err := parseDirective(tc.directive, tc.input)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.input, err, tc.want)
		}
	}
}
