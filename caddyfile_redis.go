package outstatic

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/caddy-outstatic/caddy-outstatic/store"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseStoreRedis reads the store of "storage" (native relay) and
// "token_store" (guard, relay): "caddy", or Redis in any of its forms, one
// block for both:
//
//	storage caddy
//	storage redis <address>... {
//	    username <acl-user>
//	    password <secret>                  # {env.*} or {file.*}
//	    db <n>                             # not with cluster
//	    prefix <prefix>
//	    tls {                              # no block: the system's roots
//	        ca_file <path>
//	        server_name <name>
//	    }
//	    sentinel <master-name> {           # the addresses are sentinels
//	        password <secret>              # the sentinels' own
//	    }
//	    cluster                            # the addresses are seed nodes
//	}
//
// It returns nil for caddy. What store.RedisConfig.Check refuses is
// reported at the line of the subdirective at fault.
func parseStoreRedis(d *caddyfile.Dispenser) (*RelayRedis, error) {
	directive := d.Val()
	if !d.NextArg() {
		return nil, d.Errf("%s needs caddy or redis <address>...", directive)
	}
	switch kind := d.Val(); kind {
	case "caddy":
		if d.NextArg() {
			return nil, d.ArgErr()
		}
		return nil, nil
	case "redis":
	default:
		return nil, d.Errf("%s %q: want caddy or redis <address>...%s", directive, kind, didYouMean(kind, "caddy", "redis"))
	}
	file := d.File()
	lines := map[string]int{"addresses": d.Line()}
	r := new(RelayRedis)
	r.Addresses = d.RemainingArgs()
	if len(r.Addresses) == 0 {
		return nil, d.Errf("%s redis needs an address, e.g. %s redis 127.0.0.1:6379", directive, directive)
	}
	err := eachSubdirective(d, lines, "", func(name string) error {
		var err error
		switch name {
		case "username", "prefix":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			*map[string]*string{"username": &r.Username, "prefix": &r.Prefix}[name] = v
		case "password":
			r.Password, err = parseSecret(d)
		case "db":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			if r.DB, err = strconv.Atoi(v); err != nil {
				return d.Errf("db %q is not a database number", v)
			}
		case "tls":
			r.TLS, err = parseRedisTLS(d, lines)
		case "sentinel":
			r.Sentinel, err = parseRedisSentinel(d, lines)
		case "cluster":
			if d.NextArg() {
				return d.Errf("cluster takes no argument: the addresses on the %s line are its seed nodes", directive)
			}
			r.Cluster = true
		default:
			return d.Errf("unknown subdirective %q of %s redis%s", name, directive,
				didYouMean(name, "username", "password", "db", "prefix", "tls", "sentinel", "cluster"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := r.Check(); err != nil {
		var ce *store.ConfigError
		if !errors.As(err, &ce) {
			return nil, err
		}
		line, ok := lines[ce.Field]
		if !ok {
			line = lines["addresses"]
		}
		return nil, blockErr(file, line, fmt.Sprintf("%s redis: %s: %s", directive, ce.Field, ce.Msg))
	}
	return r, nil
}

// parseRedisTLS reads "tls" and its optional block.
func parseRedisTLS(d *caddyfile.Dispenser, lines map[string]int) (*store.RedisTLS, error) {
	t := new(store.RedisTLS)
	if d.NextArg() {
		return nil, d.Errf("tls takes no argument; give ca_file and server_name in its block")
	}
	err := eachSubdirective(d, lines, "tls.", func(name string) error {
		switch name {
		case "ca_file", "server_name":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			*map[string]*string{"ca_file": &t.CAFile, "server_name": &t.ServerName}[name] = v
			return nil
		}
		return d.Errf("unknown subdirective %q of tls%s", name, didYouMean(name, "ca_file", "server_name"))
	})
	return t, err
}

// parseRedisSentinel reads "sentinel <master-name>" and its optional block.
func parseRedisSentinel(d *caddyfile.Dispenser, lines map[string]int) (*store.RedisSentinel, error) {
	s := new(store.RedisSentinel)
	if !d.NextArg() {
		return nil, d.Err("sentinel needs the name of the master the sentinels watch: sentinel <master-name>")
	}
	s.Master = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	err := eachSubdirective(d, lines, "sentinel.", func(name string) error {
		if name != "password" {
			return d.Errf("unknown subdirective %q of sentinel%s", name, didYouMean(name, "password"))
		}
		var err error
		s.Password, err = parseSecret(d)
		return err
	})
	return s, err
}

// eachSubdirective calls f with the name of each subdirective of the block
// at d, each allowed once, after noting its line in lines under field
// prefix + name (the field names of store.ConfigError).
func eachSubdirective(d *caddyfile.Dispenser, lines map[string]int, prefix string, f func(name string) error) error {
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d); err != nil {
			return err
		}
		lines[prefix+d.Val()] = d.Line()
		if err := f(d.Val()); err != nil {
			return err
		}
	}
	return nil
}

// didYouMean suggests the valid word nearest to word (at most two edits
// away, or one that starts with it), as "; did you mean X?", or nothing.
func didYouMean(word string, valid ...string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		dist := editDistance(word, v)
		if len(word) >= 2 && len(word) < len(v) && v[:len(word)] == word {
			dist = min(dist, 1)
		}
		if dist < bestDist {
			best, bestDist = v, dist
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance of two ASCII words.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
