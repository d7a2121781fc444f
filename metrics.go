package outstatic

import (
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

// Metrics on Caddy's Prometheus registry (served by the metrics handler or
// the admin API's /metrics). Every label has a bounded set of values: the
// guard's refusal reasons are constants of package guard, routes and relay
// endpoints are package protocol's, statuses are classes.
//
// Key checks and stale serves are counted by the verdict caches, which
// outlive a config (they are pooled across reloads): they count on the
// newest config's collectors (currentMetrics).
type pluginMetrics struct {
	refusals    *prometheus.CounterVec
	relayStarts *prometheus.CounterVec
	relayCalls  *prometheus.CounterVec
	keyChecks   *prometheus.CounterVec // result: verdict.CheckOK, ...
	staleServes *prometheus.CounterVec // no labels
	logins      *prometheus.CounterVec // provider, outcome, reason (a protocol code)
	redemptions *prometheus.CounterVec // result: ok, refused
}

// currentMetrics are the collectors of the config provisioned last.
var currentMetrics atomic.Pointer[pluginMetrics]

// countKeyCheck counts a key check's result on the current collectors.
func countKeyCheck(result string) {
	if m := currentMetrics.Load(); m != nil {
		m.keyChecks.WithLabelValues(result).Inc()
	}
}

// countStaleServe counts a stale verdict served on the current collectors.
func countStaleServe() {
	if m := currentMetrics.Load(); m != nil {
		m.staleServes.WithLabelValues().Inc()
	}
}

const metricsNamespace = "caddy_outstatic"

// loadMetrics registers the plugin's collectors on ctx's registry, or finds
// the ones another module of the same config registered. A reload brings a
// new registry, so this runs at every Provision.
func loadMetrics(ctx caddy.Context) (*pluginMetrics, error) {
	m := &pluginMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "guard", Name: "refusals_total",
			Help: "Requests the guard refused, by reason.",
		}, []string{"reason"}),
		relayStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "guard", Name: "relay_starts_total",
			Help: "Relay logins the guard started at the edge, by route and outcome.",
		}, []string{"route", "outcome"}),
		relayCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "relay", Name: "calls_total",
			Help: "Calls the relay answered, by endpoint and status class.",
		}, []string{"endpoint", "status"}),
		keyChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "key", Name: "checks_total",
			Help: "API key checks against the service or relay, by result: ok, invalid, error, stale (failed while a stale verdict is served).",
		}, []string{"result"}),
		staleServes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "key", Name: "stale_serves_total",
			Help: "Lookups answered with a stale verdict while the service fails.",
		}, nil),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "relay", Name: "logins_total",
			Help: "Native relay logins by provider and outcome (started, completed, refused), with the refusal's protocol code as reason.",
		}, []string{"provider", "outcome", "reason"}),
		redemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: "relay", Name: "token_redemptions_total",
			Help: "Exchange token redemptions at the relay, by result: ok, refused.",
		}, []string{"result"}),
	}
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		currentMetrics.Store(m)
		return m, nil
	}
	for _, c := range []**prometheus.CounterVec{&m.refusals, &m.relayStarts, &m.relayCalls,
		&m.keyChecks, &m.staleServes, &m.logins, &m.redemptions} {
		if err := reg.Register(*c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, err
			}
			*c = already.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	currentMetrics.Store(m)
	return m, nil
}

// redemptionResult is how a relay's answer to exchange-token counts.
func redemptionResult(status int) string {
	if status == 200 {
		return "ok"
	}
	return "refused"
}

// statusClass is "2xx", "4xx" and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
