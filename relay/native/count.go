package native

// Outcomes of a login's steps, for NativeConfig.CountLogin.
const (
	LoginStarted   = "started"
	LoginCompleted = "completed"
	LoginRefused   = "refused"
)

// countLogin reports a login's step to the configured counter.
func (n *Native) countLogin(outcome, reason string) {
	n.countLoginOf(n.login, outcome, reason)
}

// countLoginOf counts a step of a login with prov (the OpenID Connect and
// e-mail logins are not n.login).
func (n *Native) countLoginOf(prov Provider, outcome, reason string) {
	if n.cfg.CountLogin != nil {
		n.cfg.CountLogin(prov.Name(), outcome, reason)
	}
}
