package completion

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
)

func TestParseRequest(t *testing.T) {
	big := strings.Repeat("a", MaxPromptBytes)
	tests := []struct {
		body    string
		want    Request
		wantErr string
	}{
		{body: `{"prompt":"Hi","option":"continue","command":""}`, want: Request{Prompt: "Hi", Option: "continue"}},
		{body: `{"option":"zap","command":"translate to French","prompt":"Hi"}`, want: Request{Prompt: "Hi", Option: "zap", Command: "translate to French"}},
		{body: ` {"prompt":"Hi","option":"fix"} `, want: Request{Prompt: "Hi", Option: "fix"}},
		{body: `{"prompt":"Hi","option":"fix","command":null}`, want: Request{Prompt: "Hi", Option: "fix"}},
		{body: `{"prompt":"` + big + `","option":"shorter"}`, want: Request{Prompt: big, Option: "shorter"}},
		{body: `{"prompt":"` + big + `a","option":"shorter"}`, wantErr: "prompt over"},
		{body: `{"prompt":"Hi","option":"zap","command":"` + strings.Repeat("c", MaxCommandBytes+1) + `"}`, wantErr: "command over"},
		{body: `{"prompt":"Hi","option":"fix","option":"zap"}`, wantErr: `"option" twice`},
		{body: `{"prompt":"Hi","prompt":"Ho","option":"fix"}`, wantErr: `"prompt" twice`},
		{body: `{"prompt":"Hi","option":"fix","model":"gpt-4"}`, wantErr: `unknown member "model"`},
		{body: `{"prompt":"Hi","option":"poem"}`, wantErr: "not one of"},
		{body: `{"prompt":"Hi"}`, wantErr: "not one of"},
		{body: `{"prompt":"  ","option":"fix"}`, wantErr: "prompt is empty"},
		{body: `{"prompt":"Hi","option":"zap"}`, wantErr: "needs a command"},
		{body: `{"prompt":1,"option":"fix"}`, wantErr: "not a string"},
		{body: `{"prompt":["Hi"],"option":"fix"}`, wantErr: "not a string"},
		{body: `["Hi"]`, wantErr: "not a JSON object"},
		{body: `{"prompt":"Hi","option":"fix"}{}`, wantErr: "data after"},
		{body: `{"prompt":"Hi","option":"fix"`, wantErr: "completion request body"},
		{body: "{\"prompt\":\"\xff\",\"option\":\"fix\"}", wantErr: "UTF-8"},
		{body: ``, wantErr: "completion request body"},
		{body: strings.Repeat(" ", MaxBodyBytes+1), wantErr: "body over"},
	}
	for _, tt := range tests {
		got, err := ParseRequest([]byte(tt.body))
		name := tt.body
		if len(name) > 60 {
			name = name[:60]
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", name, got, err, tt.want)
		}
	}
	if _, err := ParseRequest([]byte(`{"prompt":"` + big + `a","option":"fix"}`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("an over-long prompt is not ErrTooLarge: %v", err)
	}
}

// TestPromptsPerOption: each option's instruction reaches the endpoint, with
// the text, and zap's command with it.
func TestPromptsPerOption(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "ok", Finish: "stop"}}})
	defer ai.Close()
	srv := relay(t, newStreamer(t, ai, func(c *Config) { c.MaxTokens = 500 }))
	marker := map[string]string{
		"continue": "Continue writing",
		"improve":  "Improve the writing",
		"shorter":  "Make the text shorter",
		"longer":   "Make the text longer",
		"fix":      "Fix the spelling, grammar",
		"zap":      "Apply the user's instruction",
	}
	for _, opt := range []string{"continue", "improve", "shorter", "longer", "fix", "zap"} {
		resp := post(t, srv.URL, `{"prompt":"The cat sat on teh mat.","option":"`+opt+`","command":"make it rhyme"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", opt, resp.StatusCode)
		}
		reqs := ai.Requests()
		r := reqs[len(reqs)-1]
		if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[1].Role != "user" || r.MaxTokens != 500 {
			t.Fatalf("%s: messages %+v", opt, r)
		}
		sys, user := r.Messages[0].Content, r.Messages[1].Content
		if !strings.Contains(sys, marker[opt]) {
			t.Errorf("%s: system prompt lacks %q: %s", opt, marker[opt], sys)
		}
		for other, m := range marker {
			if other != opt && strings.Contains(sys, m) {
				t.Errorf("%s: system prompt also has %s's instruction", opt, other)
			}
		}
		if !strings.Contains(sys, "no preamble") || !strings.Contains(sys, "Markdown") {
			t.Errorf("%s: system prompt does not ask for bare Markdown", opt)
		}
		if !strings.Contains(user, "<text>\nThe cat sat on teh mat.\n</text>") {
			t.Errorf("%s: user message lacks the text: %q", opt, user)
		}
		if hasCmd := strings.Contains(user, "make it rhyme"); hasCmd != (opt == "zap") {
			t.Errorf("%s: command in user message = %v", opt, hasCmd)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"Hi","option":"continue","command":""}`,
		`{"prompt":"Hi","option":"zap","command":"x"}`,
		`{"prompt":"Hi","option":"fix","option":"zap"}`,
		`{"prompt":"\u00e9\ud83d\ude00","option":"longer","command":null}`,
		`{"prompt":"Hi","option":"fix"}{}`,
		`[1,2]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			// Errors name what failed and quote little of the input.
			if msg := err.Error(); !strings.HasPrefix(msg, "completion ") || len(msg) > 300 {
				t.Fatalf("error %q", msg)
			}
			return
		}
		// Whatever is accepted is within every limit and can be prompted.
		if len(r.Prompt) > MaxPromptBytes || len(r.Command) > MaxCommandBytes || r.Validate() != nil {
			t.Fatalf("accepted %+v", r)
		}
		if !utf8.ValidString(r.Prompt) || !utf8.ValidString(r.Command) {
			t.Fatalf("accepted invalid UTF-8")
		}
		if m := Messages(r); len(m) != 2 || !strings.Contains(m[1].Content, r.Prompt) {
			t.Fatalf("messages %+v", m)
		}
	})
}
