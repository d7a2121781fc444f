package validate

import "strings"

// SecretPlaceholder reports whether v is exactly one {env.NAME} or
// {file.PATH} placeholder, the only form a secret may take in the config:
// Caddy expands it when the config loads, so the secret never appears in
// the adapted JSON. A literal, or a {$VAR} that the Caddyfile adapter
// expands, would.
func SecretPlaceholder(v string) bool {
	if !strings.HasPrefix(v, "{") || !strings.HasSuffix(v, "}") || strings.Count(v, "{") != 1 {
		return false
	}
	inner := v[1 : len(v)-1]
	return (strings.HasPrefix(inner, "env.") && len(inner) > 4) || (strings.HasPrefix(inner, "file.") && len(inner) > 5)
}
