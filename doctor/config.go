package doctor

import (
	"encoding/json"
	"path/filepath"
	"sort"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// FromConfig finds in an adapted Caddy config (JSON) what the doctor
// checks: each site block's guards, with the upstreams of its reverse
// proxies and whether one runs first, Caddy's file storage (dataDir when
// the config names no root), and every Redis. expand replaces the
// placeholders of the secrets (the api_key now, a Redis password when
// the check dials) as Caddy would when the config loads.
func FromConfig(adapted []byte, dataDir string, expand func(string) string) (Deployment, error) {
	var d Deployment
	var cfg struct {
		Storage struct {
			Module string `json:"module"`
			Root   string `json:"root"`
		} `json:"storage"`
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		return d, err
	}
	switch cfg.Storage.Module {
	case "", "file_system":
		d.StorageDir = cfg.Storage.Root
		if d.StorageDir == "" {
			d.StorageDir = dataDir
		}
	}
	names := make([]string, 0, len(cfg.Apps.HTTP.Servers))
	for name := range cfg.Apps.HTTP.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, route := range cfg.Apps.HTTP.Servers[name].Routes {
			// one site block: its handlers in the order they run
			var handlers []json.RawMessage
			flatten(route.Handle, &handlers)
			d.addSite(name, handlers, expand)
		}
	}
	if d.StorageDir != "" {
		d.StorageDir = filepath.Clean(d.StorageDir)
	}
	return d, nil
}

// What the doctor reads of the handlers' JSON: the fields of the plugin's
// outstatic (guard) and outstatic_relay modules that name a network
// address or a secret to check.
type (
	guardJSON struct {
		CallbackOrigins []string   `json:"callback_origins"`
		AppOrigins      []string   `json:"app_origins"`
		APIKey          string     `json:"api_key"`
		Service         string     `json:"service"`
		TokenStore      *storeJSON `json:"token_store"`
	}
	relayJSON struct {
		PublicURL  string             `json:"public_url"`
		DevLogin   bool               `json:"dev_login"`
		TokenStore *storeJSON         `json:"token_store"`
		Redis      *store.RedisConfig `json:"redis"`
	}
	storeJSON struct {
		Redis *store.RedisConfig `json:"redis"`
	}
)

// flatten appends the handlers in raw, and those of their subroutes, in
// the order they run.
func flatten(raw []json.RawMessage, out *[]json.RawMessage) {
	for _, h := range raw {
		var sub struct {
			Handler string `json:"handler"`
			Routes  []struct {
				Handle []json.RawMessage `json:"handle"`
			} `json:"routes"`
		}
		_ = json.Unmarshal(h, &sub)
		if sub.Handler == "subroute" {
			for _, r := range sub.Routes {
				flatten(r.Handle, out)
			}
			continue
		}
		*out = append(*out, h)
	}
}

// addSite adds what one site block's handlers hold: its guards, with the
// upstreams of its reverse proxies, and every Redis.
func (d *Deployment) addSite(server string, handlers []json.RawMessage, expand func(string) string) {
	var upstreams []string
	firstProxy, guards := -1, []int{}
	var gs []Guard
	for i, raw := range handlers {
		var h struct {
			Handler   string `json:"handler"`
			Upstreams []struct {
				Dial string `json:"dial"`
			} `json:"upstreams"`
		}
		_ = json.Unmarshal(raw, &h)
		switch h.Handler {
		case "reverse_proxy":
			if firstProxy < 0 {
				firstProxy = i
			}
			for _, u := range h.Upstreams {
				upstreams = append(upstreams, u.Dial)
			}
		case "outstatic":
			var g guardJSON
			_ = json.Unmarshal(raw, &g)
			guards = append(guards, i)
			gs = append(gs, Guard{Server: server, CallbackOrigins: g.CallbackOrigins, AppOrigins: g.AppOrigins,
				APIKey: expand(g.APIKey), Service: g.Service})
			d.addRedis("guard token_store", g.TokenStore, expand)
		case "outstatic_relay":
			var rl relayJSON
			_ = json.Unmarshal(raw, &rl)
			if rl.DevLogin {
				d.DevLogin = append(d.DevLogin, rl.PublicURL)
			}
			d.addRedis("relay token_store", rl.TokenStore, expand)
			if rl.Redis != nil {
				d.addRedis("relay storage", &storeJSON{Redis: rl.Redis}, expand)
			}
		}
	}
	for i := range gs {
		gs[i].Upstreams = upstreams
		gs[i].ProxyFirst = firstProxy >= 0 && firstProxy < guards[i]
		d.Guards = append(d.Guards, gs[i])
	}
}

// addRedis adds the Redis of a store, if it is one.
func (d *Deployment) addRedis(where string, s *storeJSON, expand func(string) string) {
	if s == nil || s.Redis == nil {
		return
	}
	d.Redis = append(d.Redis, Redis{Where: where, Config: *s.Redis, Expand: expand})
}
