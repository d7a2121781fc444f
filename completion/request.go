package completion

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Size limits on a completion request. The dashboard sends the text around
// the cursor or the selection, so 32 KiB is several pages; anything larger is
// either a mistake or an attempt to spend the operator's AI budget.
const (
	// MaxPromptBytes bounds the prompt, in bytes of UTF-8.
	MaxPromptBytes = 32 << 10
	// MaxCommandBytes bounds the free-text command of the zap option.
	MaxCommandBytes = 1 << 10
	// MaxBodyBytes bounds the whole JSON body: both texts fully escaped
	// (\uXXXX is six bytes per character at worst) would not fit, but real
	// text escapes little, and a body this size is read into memory once.
	MaxBodyBytes = 2*(MaxPromptBytes+MaxCommandBytes) + 1<<10
)

// The options of Outstatic's AI menu.
const (
	OptionContinue = "continue"
	OptionImprove  = "improve"
	OptionShorter  = "shorter"
	OptionLonger   = "longer"
	OptionFix      = "fix"
	OptionZap      = "zap"
)

// Request is the body the dashboard sends to generate (#8): the text to work
// on, which menu option was chosen, and, for zap, the user's instruction.
type Request struct {
	Prompt  string
	Option  string
	Command string
}

// ErrTooLarge reports a body, prompt or command over its limit; the caller
// answers 413 rather than 400.
var ErrTooLarge = errors.New("request too large")

// ReadRequest reads and validates a request body, reading at most
// MaxBodyBytes+1 bytes of r.
func ReadRequest(r io.Reader) (Request, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return Request{}, fmt.Errorf("reading completion request: %w", err)
	}
	return ParseRequest(body)
}

// ParseRequest validates a request body: one JSON object with string members
// prompt, option and command and nothing else, no member twice, option one of
// the menu's, sizes within the limits. Duplicate and unknown members are
// refused rather than ignored, since two parsers disagreeing on which
// duplicate wins is how checks get bypassed.
func ParseRequest(body []byte) (Request, error) {
	if len(body) > MaxBodyBytes {
		return Request{}, fmt.Errorf("completion request body over %d bytes: %w", MaxBodyBytes, ErrTooLarge)
	}
	if !utf8.Valid(body) {
		return Request{}, errors.New("completion request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return Request{}, fmt.Errorf("completion request body: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Request{}, errors.New("completion request body is not a JSON object")
	}
	var req Request
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Request{}, fmt.Errorf("completion request body: %v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return Request{}, fmt.Errorf("completion request body has %q twice", key)
		}
		seen[key] = true
		var dst *string
		switch key {
		case "prompt":
			dst = &req.Prompt
		case "option":
			dst = &req.Option
		case "command":
			dst = &req.Command
		default:
			return Request{}, fmt.Errorf("completion request body has unknown member %q", truncate(key, 40))
		}
		var v *string
		if err := dec.Decode(&v); err != nil {
			return Request{}, fmt.Errorf("completion request member %q is not a string", key)
		}
		// null is what a JavaScript client's undefined-turned-null looks
		// like; treated as absent.
		if v != nil {
			*dst = *v
		}
	}
	if _, err := dec.Token(); err != nil {
		return Request{}, fmt.Errorf("completion request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, errors.New("completion request body has data after the object")
	}
	return req, req.Validate()
}

// Validate checks the option and the sizes of a request built by hand.
func (r Request) Validate() error {
	if _, ok := instructions[r.Option]; !ok {
		return fmt.Errorf("completion option %q is not one of continue, improve, shorter, longer, fix, zap", truncate(r.Option, 20))
	}
	if len(r.Prompt) > MaxPromptBytes {
		return fmt.Errorf("completion prompt over %d bytes: %w", MaxPromptBytes, ErrTooLarge)
	}
	if len(r.Command) > MaxCommandBytes {
		return fmt.Errorf("completion command over %d bytes: %w", MaxCommandBytes, ErrTooLarge)
	}
	if strings.TrimSpace(r.Prompt) == "" {
		return errors.New("completion prompt is empty")
	}
	if r.Option == OptionZap && strings.TrimSpace(r.Command) == "" {
		return errors.New("completion option zap needs a command")
	}
	return nil
}

// truncate keeps error messages short when they quote client input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
