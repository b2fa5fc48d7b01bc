package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address the per-address limits count against. It is
// the peer's address unless the peer is a trusted proxy; then it is the
// right-most address of X-Forwarded-For that is not itself a trusted
// proxy. Addresses to the left of that one were written by the client,
// which can put anything there, so they are never used.
func (s *Server) clientIP(r *http.Request) string {
	peer := peerIP(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A malformed hop: what lies left of it cannot be trusted, and
			// the proxy that forwarded it is the last address we know.
			return peer
		}
		addr = addr.Unmap()
		if !s.trustedAddr(addr) {
			return addr.String()
		}
		peer = addr.String()
	}
	return peer
}

// clientKey is what the per-address limits count against: the client
// address, IPv6 by its /64. One IPv6 host is handed a whole /64 (SLAAC,
// privacy addresses), so counting /128s would give one machine 2^64
// budgets.
func (s *Server) clientKey(r *http.Request) string { return limitKey(s.clientIP(r)) }

// limitKey is ip's per-address limit key: itself for IPv4, its /64 for
// IPv6.
func limitKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Unmap().Is4() {
		return ip
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// trusted reports whether ip, in text form, is a configured proxy.
func (s *Server) trusted(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && s.trustedAddr(addr.Unmap())
}

// trustedAddr reports whether addr is in a configured proxy range.
func (s *Server) trustedAddr(addr netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// peerIP is a RemoteAddr without its port.
func peerIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// ParseTrustedProxies parses addresses and CIDR ranges (10.0.0.5,
// 10.0.0.0/8, ::1) as Config.TrustedProxies and Config.AdminAllowCIDR
// take them.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address or a CIDR range such as 10.0.0.0/8", v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
