package doctor

import (
	"context"
)

// Admin is Caddy's admin API, where the doctor asks whether Caddy runs.
type Admin struct {
	// Address is the admin API's listen address, for messages.
	Address string
	// Probe asks the admin API for its config; its error says why not.
	Probe func(context.Context) error
}

// admin checks that the Caddy the config describes is running: its
// admin API answers.
func (r *run) admin(ctx context.Context, a Admin) {
	if err := a.Probe(ctx); err != nil {
		r.finding("caddy", a.Address, err.Error(),
			"start Caddy with this config (caddy run --config <file>), or run the doctor where Caddy runs")
		return
	}
	r.ok("caddy", a.Address, "running: the admin API answers")
}

// devLogin warns of a relay that signs anyone in without a password.
func (r *run) devLogin(publicURL string) {
	r.out = append(r.out, Finding{Check: "dev_login", Subject: publicURL, Warn: true,
		Detail: "dev_login is on: anyone who reaches the relay signs in as any member, without a password",
		Fix:    "remove dev_login from the outstatic_relay block unless this is a demo on your own machine"})
}
