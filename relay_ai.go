package outstatic

import (
	"errors"
	"fmt"

	"github.com/caddy-outstatic/caddy-outstatic/completion"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
)

// RelayAI is an OpenAI-compatible chat completions endpoint that answers
// the dashboard's AI completions in native mode. Set on the relay, it
// serves every Pro project; set in a project, it replaces the relay's for
// that project.
type RelayAI struct {
	// BaseURL is the API root: completions are POSTed to
	// BaseURL/chat/completions. Default: https://api.openai.com/v1.
	BaseURL string `json:"base_url,omitempty"`
	// APIKey is the endpoint's key, as an {env.*} or {file.*}
	// placeholder. Default: none, for a local model server.
	APIKey string `json:"api_key,omitempty"`
	// Model names the model. Required.
	Model string `json:"model"`
	// Rate is each project's budget of completions, <n>/<duration>, e.g.
	// 30/1m. Default: 30/1m.
	Rate string `json:"rate,omitempty"`
}

// defaultAIBaseURL and defaultAIRate are the ai block's defaults.
const (
	defaultAIBaseURL = "https://api.openai.com/v1"
	defaultAIRate    = "30/1m"
)

// check is the one check of an ai block, for Validate and the Caddyfile.
func (a *RelayAI) check() error {
	if a.Model == "" {
		return errors.New("ai needs a model, e.g. model gpt-4o-mini")
	}
	if a.BaseURL != "" {
		if err := checkServiceURL(a.BaseURL); err != nil {
			return fmt.Errorf("ai base_url: %v", err)
		}
	}
	if a.APIKey != "" {
		if err := validate.CheckSecretPlaceholder(a.APIKey); err != nil {
			return fmt.Errorf("ai api_key %v", err)
		}
	}
	if a.Rate != "" {
		if err := checkRate(a.Rate); err != nil {
			return fmt.Errorf("ai rate: %v", err)
		}
	}
	return nil
}

// build makes the completion endpoint and its per-project limiter, with
// the key expanded.
func (a *RelayAI) build(repl *caddy.Replacer) (*native.AI, error) {
	base, rate := a.BaseURL, a.Rate
	if base == "" {
		base = defaultAIBaseURL
	}
	if rate == "" {
		rate = defaultAIRate
	}
	r, err := completion.ParseRate(rate)
	if err != nil {
		return nil, fmt.Errorf("ai rate: %v", err)
	}
	key, err := expandSecret(repl, "ai api_key", a.APIKey)
	if err != nil {
		return nil, err
	}
	s, err := completion.New(completion.Config{BaseURL: base, APIKey: key, Model: a.Model})
	if err != nil {
		return nil, fmt.Errorf("ai: %v", err)
	}
	l, err := completion.NewLimiter(r, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("ai rate: %v", err)
	}
	return &native.AI{Streamer: s, Limiter: l}, nil
}

// nativeAI gives each project its AI: its own block's, else the relay's
// (one shared endpoint and limiter, which counts each project apart).
func (rl *Relay) nativeAI(projects []native.Project, repl *caddy.Replacer) error {
	var shared *native.AI
	if rl.AI != nil {
		ai, err := rl.AI.build(repl)
		if err != nil {
			return err
		}
		shared = ai
	}
	for i := range projects {
		projects[i].AI = shared
		if own := rl.Projects[i].AI; own != nil {
			ai, err := own.build(repl)
			if err != nil {
				return fmt.Errorf("project %s: %v", rl.Projects[i].Slug, err)
			}
			projects[i].AI = ai
		}
	}
	return nil
}

// checkRate judges an ai block's rate.
func checkRate(v string) error {
	_, err := completion.ParseRate(v)
	return err
}
