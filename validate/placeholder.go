package validate

import (
	"errors"
	"strings"
)

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

// ErrNotSecretPlaceholder is a secret given in another form than
// SecretPlaceholder's, for the config's checks to name the field it is in.
var ErrNotSecretPlaceholder = errors.New("must be an {env.NAME} or {file.PATH} placeholder, so the secret stays out of the config")

// CheckSecretPlaceholder is nil for a SecretPlaceholder, else
// ErrNotSecretPlaceholder.
func CheckSecretPlaceholder(v string) error {
	if SecretPlaceholder(v) {
		return nil
	}
	return ErrNotSecretPlaceholder
}
