package demo

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// The {env.*} placeholders the demo's Caddyfile reads its secrets from.
// Run sets them in its own environment before Caddy loads the config.
const (
	EnvAPIKey       = "OUTSTATIC_DEMO_API_KEY"
	EnvGitHubSecret = "OUTSTATIC_DEMO_GITHUB_SECRET"
	EnvRelaySecret  = "OUTSTATIC_DEMO_RELAY_SECRET"
)

// ClientID is the demo relay's OAuth app at the demo GitHub.
const ClientID = "Iv1.outstatic0demo"

// ProjectSlug is the native relay's project.
const ProjectSlug = "blog"

// Secrets are the demo's secrets, made anew at every run: they live only
// in the demo's memory and the environment it gives Caddy and the site.
// (A real deployment keeps its secrets in its environment or in files
// read through {env.*} or {file.*}, made once and kept; never this way.)
type Secrets struct {
	// APIKey is the site's OUTSTATIC_API_KEY, declared in the relay by
	// its SHA-256.
	APIKey string
	// GitHubSecret is the relay's OAuth client secret at the demo GitHub.
	GitHubSecret string
	// RelaySecret seals the relay's states, sessions and refresh tokens.
	RelaySecret string
	// SiteSecret is the site's OST_TOKEN_SECRET.
	SiteSecret string

	keySHA256 string
}

// NewSecrets makes a fresh set.
func NewSecrets() (Secrets, error) {
	key, hash, _, err := relay.NewKey()
	if err != nil {
		return Secrets{}, err
	}
	return Secrets{APIKey: key, keySHA256: hash, GitHubSecret: random(30), RelaySecret: random(40), SiteSecret: random(48)}, nil
}

// KeySHA256 is the API key's hash, as key_sha256 declares it.
func (s Secrets) KeySHA256() string { return s.keySHA256 }

// Env is the environment Caddy reads the secrets from.
func (s Secrets) Env() map[string]string {
	return map[string]string{EnvAPIKey: s.APIKey, EnvGitHubSecret: s.GitHubSecret, EnvRelaySecret: s.RelaySecret}
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// Layout is where the demo's parts listen.
type Layout struct {
	// Port is the public port on localhost: the site is
	// http://localhost:<Port>/outstatic, the relay .../relay.
	Port int
	// SitePort is where the stock site's `next start` listens, on
	// 127.0.0.1.
	SitePort int
	// GitHub is the demo GitHub's base URL.
	GitHub string
	// Storage is Caddy's storage folder: the relay's stored keys,
	// members, tokens.
	Storage string
	// Log is the file Caddy's log goes to; warnings are also printed.
	Log string
}

// Origin is the public origin.
func (l Layout) Origin() string { return fmt.Sprintf("http://localhost:%d", l.Port) }

// RelayURL is the relay's public URL: the site's OUTSTATIC_API_URL and
// NEXT_PUBLIC_OST_APP_URL.
func (l Layout) RelayURL() string { return l.Origin() + "/relay" }

// StatusPath answers with the guard's verdict on the site's key, "true"
// once it is Pro: the demo waits for it before it starts the site.
const StatusPath = "/__demo/pro"

// Caddyfile is the demo's configuration: one site on localhost, the
// guard in front of the stock site, the native relay under /relay, whose
// GitHub is the demo GitHub. Every secret is an {env.*} placeholder.
func Caddyfile(l Layout, keySHA256 string) string {
	r := strings.NewReplacer(
		"{port}", fmt.Sprint(l.Port), "{origin}", l.Origin(), "{relay}", l.RelayURL(),
		"{site}", fmt.Sprintf("127.0.0.1:%d", l.SitePort), "{app}", fmt.Sprintf("http://localhost:%d", l.SitePort),
		"{github}", l.GitHub, "{storage}", l.Storage, "{log}", l.Log, "{key_sha256}", keySHA256,
		"{client_id}", ClientID, "{project}", ProjectSlug, "{repo}", RepoOwner+"/"+RepoName, "{login}", Login,
		"{status}", StatusPath,
		"{env_key}", "{env."+EnvAPIKey+"}", "{env_github}", "{env."+EnvGitHubSecret+"}", "{env_relay}", "{env."+EnvRelaySecret+"}",
	)
	return r.Replace(caddyfileTemplate)
}

const caddyfileTemplate = `# The demo of bash scripts/demo.sh: on this machine only.
{
	admin off
	persist_config off
	http_port {port}
	storage file_system {storage}
	log {
		output file {log}
		format json
	}
	# what the guard and the relay warn of, on the demo's output as well
	log warnings {
		output stderr
		format console
		level WARN
		include http.handlers
	}
}

http://localhost:{port} {
	bind 127.0.0.1
	# says on every page that this is the demo's repository
	outstatic_demo_banner

	# The relay, in native mode: the site's OUTSTATIC_API_URL. Its GitHub
	# is the demo GitHub, which signs the demo user in at once.
	handle_path /relay/* {
		outstatic_relay {
			public_url {relay}
			project {project} {
				callback_origin {origin}/outstatic
				repo {repo}
				plan pro
				key_sha256 {key_sha256}
				member {login} owner
			}
			github {
				client_id {client_id}
				client_secret {env_github}
				base_url {github}
				api_url {github}/api/v3
				graphql_url {github}/api/graphql
			}
			secret {env_relay}
		}
	}

	# The guard: checks the site's key at the relay, injects the Pro
	# flags, starts relay logins with the public callback.
	outstatic {
		callback_origin {origin}/outstatic
		app_origin {app}
		api_key {env_key}
		service {relay}
	}

	handle {status} {
		respond "{http.outstatic.pro}"
	}
	# the stock site has no page of its own at /: the dashboard is the demo
	redir / /outstatic
	# the stock site, next start
	handle {
		reverse_proxy {site}
	}
}
`
