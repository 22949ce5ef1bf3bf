package frontdoor

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr returns the address of the client of r, for audit events and
// (as sourceKey) rate limits: the host of r.RemoteAddr, unless that peer is one of
// Config.TrustedProxies. Then X-Forwarded-For is read from the right, each
// proxy naming the hop before it, and the first address that is not a
// trusted proxy is the client. Entries left of it were written by the
// client itself and are ignored; so is everything after a malformed entry,
// leaving the last trusted hop as the source.
func (d *Door) ClientAddr(r *http.Request) string {
	d.init()
	host := peerHost(r.RemoteAddr)
	if len(d.proxies) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !d.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" && i == 0 && len(hops) == 1 {
			break // no header
		}
		a, err := netip.ParseAddr(hop)
		if err != nil {
			break
		}
		a = a.Unmap().WithZone("")
		if !d.trusted(a) {
			return a.String()
		}
		host = a.String()
	}
	return host
}

// sourceKey returns the key of r's source in the per-source limits: its
// client address, except that an IPv6 address counts as its /64. One
// subscriber typically holds a whole /64 and can pick any address in it,
// so limiting single IPv6 addresses would limit nobody. An IPv4-mapped
// address is its IPv4 address. The audit keeps the full address.
func (d *Door) sourceKey(r *http.Request) string {
	return limitKey(d.ClientAddr(r))
}

// limitKey maps a client address to its key in the per-source limits.
// What does not parse as an address (a Unix socket's "@") is its own key.
func limitKey(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil {
		return src
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// trusted reports whether a is one of the trusted proxies.
func (d *Door) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range d.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerHost returns the host of a RemoteAddr ("192.0.2.1:4711",
// "[2001:db8::1]:4711"), or the address itself when it has no port.
func peerHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
