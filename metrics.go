package outstatic

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

// Metrics on Caddy's Prometheus registry (served by the metrics handler or
// the admin API's /metrics). Every label has a bounded set of values: the
// guard's refusal reasons are constants of package guard, routes and relay
// endpoints are package protocol's, statuses are classes.
type pluginMetrics struct {
	refusals    *prometheus.CounterVec
	relayStarts *prometheus.CounterVec
	relayCalls  *prometheus.CounterVec
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
	}
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return m, nil
	}
	for _, c := range []**prometheus.CounterVec{&m.refusals, &m.relayStarts, &m.relayCalls} {
		if err := reg.Register(*c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, err
			}
			*c = already.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return m, nil
}

// statusClass is "2xx", "4xx" and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
