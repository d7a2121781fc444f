package outstatic

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseRelayAI reads an ai block, on the relay or in a project.
func parseRelayAI(d *caddyfile.Dispenser) (*RelayAI, error) {
	a := new(RelayAI)
	file, line := d.File(), d.Line()
	err := readArglessBlock(d, "ai", subdirectives{
		"api_key":  readSecret(d, &a.APIKey),
		"base_url": readWord(d, &a.BaseURL, checkServiceURL),
		"model":    readWord(d, &a.Model, nil),
		"rate":     readWord(d, &a.Rate, checkRate),
	})
	if err != nil {
		return nil, err
	}
	// What the block lacks is reported at its ai line.
	if err := a.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return a, nil
}
