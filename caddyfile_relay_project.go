package outstatic

import (
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/relay/native"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseRelayProject reads a project block of native mode.
func parseRelayProject(d *caddyfile.Dispenser) (RelayProject, error) {
	var p RelayProject
	if !d.NextArg() {
		return p, d.Err("project needs a slug, e.g. project blog { ... }")
	}
	p.Slug = d.Val()
	if err := native.CheckSlug(p.Slug); err != nil {
		return p, d.Errf("%v", err)
	}
	if d.NextArg() {
		return p, d.ArgErr()
	}
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d, "callback_origin", "member", "key_sha256"); err != nil {
			return p, err
		}
		switch d.Val() {
		case "callback_origin":
			list, err := parseURLList(d, checkOrigin)
			if err != nil {
				return p, err
			}
			p.CallbackOrigins = append(p.CallbackOrigins, list...)
		case "strict_callbacks":
			if d.NextArg() {
				return p, d.ArgErr()
			}
			p.StrictCallbacks = true
		case "repo", "id", "account", "monorepo_path":
			name := d.Val()
			var v string
			if !d.AllArgs(&v) {
				return p, d.ArgErr()
			}
			*map[string]*string{"repo": &p.Repo, "id": &p.ID, "account": &p.Account, "monorepo_path": &p.MonorepoPath}[name] = v
			if name == "repo" {
				if err := checkRepo(v); err != nil {
					return p, d.Errf("%v", err)
				}
			}
		case "plan":
			if !d.AllArgs(&p.Plan) {
				return p, d.ArgErr()
			}
			if err := checkPlan(p.Plan); err != nil {
				return p, d.Errf("%v", err)
			}
		case "member":
			var m RelayMember
			if !d.AllArgs(&m.Who, &m.Role) {
				return p, d.Err("member takes a GitHub login or e-mail address and a role")
			}
			if _, err := m.check(); err != nil {
				return p, d.Errf("%v", err)
			}
			p.Members = append(p.Members, m)
		case "ai":
			a, err := parseRelayAI(d)
			if err != nil {
				return p, err
			}
			p.AI = a
		case "key_sha256":
			var h string
			if !d.AllArgs(&h) {
				return p, d.ArgErr()
			}
			if len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
				return p, d.Errf("key_sha256 %q: want 64 hex digits", h)
			}
			p.KeySHA256 = append(p.KeySHA256, strings.ToLower(h))
		default:
			return p, d.Errf("unknown subdirective %q of project", d.Val())
		}
	}
	if err := p.check(); err != nil {
		return p, d.Errf("%v", err)
	}
	return p, nil
}
