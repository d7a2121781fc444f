package native

// Outcomes of a login's steps, for NativeConfig.CountLogin.
const (
	LoginStarted   = "started"
	LoginCompleted = "completed"
	LoginRefused   = "refused"
)

// emailProvider names e-mail (magic link) logins in metrics and logs: they
// have no Provider of their own (provider_email.go).
const emailProvider = "email"

// countLogin reports a step of a login with the provider named provider
// (a Provider's Name, or emailProvider) to the configured counter.
func (n *Native) countLogin(provider, outcome, reason string) {
	if n.cfg.CountLogin != nil {
		n.cfg.CountLogin(provider, outcome, reason)
	}
}
