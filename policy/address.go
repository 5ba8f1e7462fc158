package policy

import "net/netip"

// AddressKey maps a client IP address to the key that per-address limits
// (sign-in and registration throttles, registration deduplication) count
// it under:
//
//   - an IPv4 address, also one written IPv4-mapped (::ffff:192.0.2.1), is
//     its own key, "192.0.2.1";
//   - any other IPv6 address is its /64 prefix, "2001:db8:1:2::/64", with
//     a zone (fe80::1%eth0) dropped;
//   - a string that is not an address is returned unchanged.
//
// Why /64: RFC 4291 §2.5.4 gives global unicast addresses a 64-bit
// interface ID, so a /64 is one subnet, typically one host or one site,
// and that host can pick any address in it (RFC 8981 temporary addresses
// rotate on their own). Keyed on the full address, one host would get 2^64
// fresh budgets; keyed on the /64 it gets one, like one IPv4 address.
func AddressKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
