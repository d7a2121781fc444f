package native

// Outcomes of a login's steps, for NativeConfig.CountLogin.
const (
	LoginStarted   = "started"
	LoginCompleted = "completed"
	LoginRefused   = "refused"
)

// countLogin reports a login's step to the configured counter.
func (n *Native) countLogin(outcome, reason string) {
	if n.cfg.CountLogin != nil {
		n.cfg.CountLogin(n.login.Name(), outcome, reason)
	}
}
