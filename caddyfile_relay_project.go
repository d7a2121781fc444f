package outstatic

import (
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseRelayProject reads a project block of native mode.
func parseRelayProject(d *caddyfile.Dispenser) (RelayProject, error) {
	var p RelayProject
	file, line := d.File(), d.Line()
	if !d.NextArg() {
		return p, d.Err("project needs a slug, e.g. project blog { ... }")
	}
	p.Slug = d.Val()
	if err := roster.CheckSlug(p.Slug); err != nil {
		return p, d.Errf("%v", err)
	}
	if d.NextArg() {
		return p, d.ArgErr()
	}
	err := readBlock(d, "project", subdirectives{
		"callback_origin":  readList(d, &p.CallbackOrigins, checkOrigin),
		"strict_callbacks": readFlag(d, &p.StrictCallbacks),
		"repo":             readWord(d, &p.Repo, roster.CheckRepo),
		"id":               readWord(d, &p.ID, nil),
		"account":          readWord(d, &p.Account, nil),
		"monorepo_path":    readWord(d, &p.MonorepoPath, nil),
		"plan":             readWord(d, &p.Plan, roster.CheckPlan),
		"member":           readAppend(d, &p.Members, parseRelayMember),
		"ai":               readWith(d, &p.AI, parseRelayAI),
		"key_sha256":       readAppend(d, &p.KeySHA256, parseKeySHA256),
	}, "callback_origin", "member", "key_sha256")
	if err != nil {
		return p, err
	}
	if err := p.check(); err != nil {
		return p, blockErr(file, line, err.Error())
	}
	return p, nil
}

// parseRelayMember reads "member <github-login-or-email> <role>".
func parseRelayMember(d *caddyfile.Dispenser) (RelayMember, error) {
	var m RelayMember
	if !d.AllArgs(&m.Who, &m.Role) {
		return m, d.Err("member takes a GitHub login or e-mail address and a role")
	}
	if err := m.check(); err != nil {
		return m, d.Errf("%v", err)
	}
	return m, nil
}

// parseKeySHA256 reads "key_sha256 <hex>": a key's SHA-256 in 64 hex
// digits, kept in lowercase.
func parseKeySHA256(d *caddyfile.Dispenser) (string, error) {
	h, err := oneArg(d)
	if err != nil {
		return "", err
	}
	if len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
		return "", d.Errf("key_sha256 %q: want 64 hex digits", h)
	}
	return strings.ToLower(h), nil
}
