package cimd

import (
	"fmt"
	"net/netip"
)

// AddrClass is what the fetcher may do with an address (CIMD -02 §8.6:
// never fetch from an RFC 6890 special-use address).
type AddrClass int

const (
	// AddrPublic is globally reachable unicast: always allowed.
	AddrPublic AddrClass = iota
	// AddrPrivate is RFC 1918, CGNAT (RFC 6598) and ULA (RFC 4193) space:
	// allowed only for cimd.trusted_private_urls entries and in
	// development mode (cimd.allow_private_addresses).
	AddrPrivate
	// AddrLoopback is 127/8 and ::1: development mode only.
	AddrLoopback
	// AddrForbidden is never allowed: unspecified, link-local, cloud
	// metadata, multicast, broadcast, documentation, benchmarking,
	// reserved, translation forms that hide a forbidden address, and so on.
	AddrForbidden
)

type addrRange struct {
	prefix netip.Prefix
	class  AddrClass
	name   string
}

func r(p string, class AddrClass, name string) addrRange {
	return addrRange{netip.MustParsePrefix(p), class, name}
}

// Order matters: the first matching range names the address, so specific
// ranges (cloud metadata) precede the blocks that contain them.
var ipv4Ranges = []addrRange{
	r("169.254.169.254/32", AddrForbidden, "a cloud metadata address"),
	r("100.100.100.200/32", AddrForbidden, "a cloud metadata address"),
	r("255.255.255.255/32", AddrForbidden, "the broadcast address"),
	r("0.0.0.0/8", AddrForbidden, "a \"this network\" address (RFC 791)"),
	r("10.0.0.0/8", AddrPrivate, "a private address (RFC 1918)"),
	r("100.64.0.0/10", AddrPrivate, "a shared CGNAT address (RFC 6598)"),
	r("127.0.0.0/8", AddrLoopback, "a loopback address"),
	r("169.254.0.0/16", AddrForbidden, "a link-local address (RFC 3927)"),
	r("172.16.0.0/12", AddrPrivate, "a private address (RFC 1918)"),
	r("192.0.0.0/24", AddrForbidden, "an IETF protocol assignment (RFC 6890)"),
	r("192.0.2.0/24", AddrForbidden, "a documentation address (RFC 5737)"),
	r("192.31.196.0/24", AddrForbidden, "an AS112 address (RFC 7535)"),
	r("192.52.193.0/24", AddrForbidden, "an AMT address (RFC 7450)"),
	r("192.88.99.0/24", AddrForbidden, "a 6to4 relay anycast address (RFC 7526)"),
	r("192.168.0.0/16", AddrPrivate, "a private address (RFC 1918)"),
	r("192.175.48.0/24", AddrForbidden, "an AS112 address (RFC 7534)"),
	r("198.18.0.0/15", AddrForbidden, "a benchmarking address (RFC 2544)"),
	r("198.51.100.0/24", AddrForbidden, "a documentation address (RFC 5737)"),
	r("203.0.113.0/24", AddrForbidden, "a documentation address (RFC 5737)"),
	r("224.0.0.0/4", AddrForbidden, "a multicast address"),
	r("240.0.0.0/4", AddrForbidden, "a reserved address (RFC 1112)"),
}

var ipv6Ranges = []addrRange{
	r("fd00:ec2::254/128", AddrForbidden, "a cloud metadata address"),
	r("::/128", AddrForbidden, "the unspecified address"),
	r("::1/128", AddrLoopback, "a loopback address"),
	r("::/96", AddrForbidden, "an IPv4-compatible address (deprecated, RFC 4291)"),
	r("64:ff9b:1::/48", AddrForbidden, "a local-use NAT64 address (RFC 8215)"),
	r("100::/64", AddrForbidden, "a discard-only address (RFC 6666)"),
	r("2001::/32", AddrForbidden, "a Teredo address (RFC 4380)"),
	r("2001::/23", AddrForbidden, "an IETF protocol assignment (RFC 2928)"),
	r("2001:db8::/32", AddrForbidden, "a documentation address (RFC 3849)"),
	r("3fff::/20", AddrForbidden, "a documentation address (RFC 9637)"),
	r("5f00::/16", AddrForbidden, "an SRv6 SID address (RFC 9602)"),
	r("fc00::/7", AddrPrivate, "a unique local address (RFC 4193)"),
	r("fe80::/10", AddrForbidden, "a link-local address (RFC 4291)"),
	r("fec0::/10", AddrForbidden, "a site-local address (deprecated, RFC 3879)"),
	r("ff00::/8", AddrForbidden, "a multicast address"),
}

var (
	nat64Prefix     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
	globalUnicast   = netip.MustParsePrefix("2000::/3")
)

// ClassifyAddr says whether a may be dialled and, for anything but a
// public address, describes it ("a private address (RFC 1918)").
// Translation forms are judged by the IPv4 address they carry:
// IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// are as allowed as their embedded address, so ::ffff:127.0.0.1 is
// loopback and 2002:a9fe:a9fe:: is cloud metadata.
func ClassifyAddr(a netip.Addr) (AddrClass, string) {
	switch {
	case !a.IsValid():
		return AddrForbidden, "an invalid address"
	case a.Zone() != "":
		return AddrForbidden, "an address with a zone identifier"
	case a.Is4In6():
		class, name := ClassifyAddr(a.Unmap())
		return class, "IPv4-mapped: " + name
	case a.Is4():
		return lookup(ipv4Ranges, a)
	}
	if nat64Prefix.Contains(a) || sixToFourPrefix.Contains(a) {
		embedded := embeddedIPv4(a)
		class, name := ClassifyAddr(embedded)
		if class == AddrPublic {
			return AddrPublic, ""
		}
		return class, fmt.Sprintf("a translated form of %s, %s", embedded, name)
	}
	if class, name := lookup(ipv6Ranges, a); class != AddrPublic {
		return class, name
	}
	if !globalUnicast.Contains(a) {
		return AddrForbidden, "outside IPv6 global unicast space (2000::/3)"
	}
	return AddrPublic, ""
}

func lookup(ranges []addrRange, a netip.Addr) (AddrClass, string) {
	for _, rg := range ranges {
		if rg.prefix.Contains(a) {
			return rg.class, rg.name
		}
	}
	return AddrPublic, ""
}

// embeddedIPv4 extracts the IPv4 address of a NAT64 (last 32 bits) or 6to4
// (bits 16-47) address.
func embeddedIPv4(a netip.Addr) netip.Addr {
	b := a.As16()
	if sixToFourPrefix.Contains(a) {
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
}

// addrPolicy decides which classes a fetch may reach.
type addrPolicy struct {
	allowPrivate  bool // trusted URL or development mode
	allowLoopback bool // development mode only
}

func (p addrPolicy) allows(class AddrClass) bool {
	switch class {
	case AddrPublic:
		return true
	case AddrPrivate:
		return p.allowPrivate
	case AddrLoopback:
		return p.allowLoopback
	}
	return false
}
