package relay

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// Who a call is made for. The site's server and the guard make their keyed
// calls from one address for all their users; the guard names the browser
// each call is for in protocol.ClientIPHeader. Both modes remove that
// header from every request as it arrives and believe it only on a call
// whose key they accepted: a browser can send any header, and must not
// choose whose limits its requests count against.

// clientIPFolded is protocol.ClientIPHeader as protocol.FoldEqual takes it.
var clientIPFolded = strings.ToLower(protocol.ClientIPHeader)

// ErrClientClaim is a keyed call whose protocol.ClientIPHeader is not one
// IP address: refused, not taken as the caller's own address.
var ErrClientClaim = errors.New("the client address header is not one IP address")

// TakeClientClaim removes protocol.ClientIPHeader from h, in every
// spelling, and returns its values, for ParseClientClaim once the call's
// key is known to be good.
func TakeClientClaim(h http.Header) []string {
	return protocol.TakeHeader(h, clientIPFolded)
}

// ParseClientClaim reads the values TakeClientClaim took from a keyed call:
// none gives ok false; exactly one IP address gives it, unmapped and
// without a zone; anything else is ErrClientClaim.
func ParseClientClaim(values []string) (ip netip.Addr, ok bool, err error) {
	if len(values) == 0 {
		return netip.Addr{}, false, nil
	}
	if len(values) == 1 {
		if ip, err := netip.ParseAddr(values[0]); err == nil {
			return ip.Unmap().WithZone(""), true, nil
		}
	}
	return netip.Addr{}, false, ErrClientClaim
}

// PeerIP is r's peer address without its port: the client's address when
// no proxy stands in front.
func PeerIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// ClientKey is the part of a client's address that names one client for a
// rate limit: an IPv4 address whole, an IPv6 address's /64 (a host or a
// home network is given a /64 and may send from any address in it). What
// is not an IP address (a unix socket's peer) is its own key.
func ClientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
