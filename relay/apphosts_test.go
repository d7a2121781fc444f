package relay

import (
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

func TestAppHostsAndPublicURL(t *testing.T) {
	hosts, err := CheckAppHosts(nil)
	if err != nil || len(hosts) != 1 || hosts[0] != "localhost:3000" {
		t.Fatalf("default app hosts: %v %v", hosts, err)
	}
	if _, err := CheckAppHosts([]string{"local host"}); err == nil {
		t.Error("a host with a space accepted")
	}
	o, err := validate.ParseOrigin("https://blog.example.com/outstatic")
	if err != nil {
		t.Fatal(err)
	}
	targets := validate.Targets{Origins: []validate.Origin{o}}
	for raw, want := range map[string]string{
		"http://localhost:3000/api/outstatic/callback":    "https://blog.example.com/api/outstatic/callback",
		"https://LOCALHOST:3000/x?y":                      "https://blog.example.com/x?y",
		"http://localhost:3000@evil.example/x":            "http://localhost:3000@evil.example/x",
		"https://evil.example/api/outstatic/callback":     "https://evil.example/api/outstatic/callback",
		"https://blog.example.com/api/outstatic/callback": "https://blog.example.com/api/outstatic/callback",
	} {
		if got := PublicURL(raw, targets, hosts); got != want {
			t.Errorf("%s: %s, want %s", raw, got, want)
		}
	}
}
