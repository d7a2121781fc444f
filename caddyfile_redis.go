package outstatic

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/caddy-outstatic/caddy-outstatic/internal/suggest"
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
		return nil, d.Errf("%s %q: want caddy or redis <address>...%s", directive, kind, suggest.DidYouMean(kind, "caddy", "redis"))
	}
	file := d.File()
	lines := map[string]int{"addresses": d.Line()}
	r := new(RelayRedis)
	r.Addresses = d.RemainingArgs()
	if len(r.Addresses) == 0 {
		return nil, d.Errf("%s redis needs an address, e.g. %s redis 127.0.0.1:6379", directive, directive)
	}
	err := readBlock(d, directive+" redis", notingLines(d, lines, "", subdirectives{
		"username": readWord(d, &r.Username, nil),
		"prefix":   readWord(d, &r.Prefix, nil),
		"password": readSecret(d, &r.Password),
		"db":       readDB(d, &r.DB),
		"tls":      readWith(d, &r.TLS, func(d *caddyfile.Dispenser) (*store.RedisTLS, error) { return parseRedisTLS(d, lines) }),
		"sentinel": readWith(d, &r.Sentinel, func(d *caddyfile.Dispenser) (*store.RedisSentinel, error) { return parseRedisSentinel(d, lines) }),
		"cluster": func() error {
			if d.NextArg() {
				return d.Errf("cluster takes no argument: the addresses on the %s line are its seed nodes", directive)
			}
			r.Cluster = true
			return nil
		},
	}))
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

// readTokenStore reads token_store, the store shared with other
// instances: Redis, or Caddy's storage.
func readTokenStore(d *caddyfile.Dispenser, to **SharedStore) func() error {
	return func() error {
		r, err := parseStoreRedis(d)
		if err != nil {
			return err
		}
		*to = &SharedStore{Redis: r}
		return nil
	}
}

// readDB reads a Redis database number into *to; store.RedisConfig
// judges its range.
func readDB(d *caddyfile.Dispenser, to *int) func() error {
	return func() error {
		v, err := oneArg(d)
		if err != nil {
			return err
		}
		if *to, err = strconv.Atoi(v); err != nil {
			return d.Errf("db %q is not a database number", v)
		}
		return nil
	}
}

// parseRedisTLS reads "tls" and its optional block.
func parseRedisTLS(d *caddyfile.Dispenser, lines map[string]int) (*store.RedisTLS, error) {
	t := new(store.RedisTLS)
	if d.NextArg() {
		return nil, d.Errf("tls takes no argument; give ca_file and server_name in its block")
	}
	err := readBlock(d, "tls", notingLines(d, lines, "tls.", subdirectives{
		"ca_file":     readWord(d, &t.CAFile, nil),
		"server_name": readWord(d, &t.ServerName, nil),
	}))
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
	err := readBlock(d, "sentinel", notingLines(d, lines, "sentinel.", subdirectives{
		"password": readSecret(d, &s.Password),
	}))
	return s, err
}

// notingLines has each subdirective of subs note its line in lines, under
// prefix + its name (the field names of store.ConfigError), before it is
// read, so that what store.RedisConfig.Check refuses is reported there.
func notingLines(d *caddyfile.Dispenser, lines map[string]int, prefix string, subs subdirectives) subdirectives {
	for name, read := range subs {
		subs[name] = func() error {
			lines[prefix+name] = d.Line()
			return read()
		}
	}
	return subs
}
