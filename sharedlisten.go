package outstatic

import (
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/internal/sharedlisten"
)

// How long a guard or relay looks, after its Provision, for its server's
// listeners to open (the admin API's is open already): a look every
// sharedScanInterval, at most sharedScanRounds times, in the background.
var (
	sharedScanInterval = 200 * time.Millisecond
	sharedScanRounds   = 50
)

// sharedReported holds the shared sockets already reported, so that each
// is reported once, whatever the number of guards and relays and reloads.
var sharedReported sync.Map

// warnSharedListeners warns when another process listens on one of this
// Caddy's addresses too: its admin API's, or its server's. Caddy binds
// with SO_REUSEPORT, so a second Caddy on the same addresses starts
// without an error and the kernel splits the connections between the two
// at random (a key rotated through one, a login finished on the other).
// It never blocks the start: it reads the kernel's socket tables in the
// background, now (the admin API listens before the apps are provisioned)
// and until the server's own ports are open, within a bound.
func warnSharedListeners(ctx caddy.Context, logger *zap.Logger) {
	var ports []int
	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		for _, l := range srv.Listen {
			na, err := caddy.ParseNetworkAddress(l)
			if err != nil || na.IsUnixNetwork() || na.IsFdNetwork() || strings.HasPrefix(na.Network, "udp") {
				continue
			}
			for p := na.StartPort; p <= na.EndPort && len(ports) < 64; p++ {
				ports = append(ports, int(p))
			}
		}
	}
	go func() {
		for round := 1; ; round++ {
			listening, shared, err := sharedlisten.Find()
			if err != nil {
				logger.Debug("could not read the socket tables", zap.Error(err))
				return
			}
			for _, s := range shared {
				if _, seen := sharedReported.LoadOrStore(s.Key(), true); seen {
					continue
				}
				logger.Warn("another process listens on this Caddy's address",
					zap.String("address", s.Addr), zap.Int("other_pid", s.PID), zap.Int("other_uid", s.UID),
					zap.String("why", "Caddy binds with SO_REUSEPORT, so a second process on the same address starts silently "+
						"and the kernel splits the connections between the two: admin calls and requests reach either at random"),
					zap.String("fix", "stop the other Caddy, or give this one another admin address (global option admin) and site address"))
			}
			if allOpen(listening, ports) || round >= sharedScanRounds {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(sharedScanInterval):
			}
		}
	}()
}

func allOpen(listening map[int]bool, ports []int) bool {
	for _, p := range ports {
		if !listening[p] {
			return false
		}
	}
	return true
}
