package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// CheckHost applies Gatehouse's host syntax to the host part of a URL
// (IPv6 literals in brackets). Accepted hosts are exactly:
//
//   - lowercase ASCII DNS names: labels of a-z, 0-9 and '-', 1-63 bytes,
//     not starting or ending with '-', at most 253 bytes in all.
//     Internationalised names must be published in punycode ("xn--").
//     A trailing dot is refused: "claude.ai." would be a second client_id
//     for the same host, and certificate, allow-list and public-suffix
//     matching all treat it differently;
//   - canonical dotted-quad IPv4 literals ("192.0.2.1");
//   - canonical (RFC 5952) IPv6 literals in brackets, without zone.
//
// Everything a URL parser might read as an IPv4 address in another
// spelling (WHATWG "ends in a number": "2130706433", "0177.0.0.1",
// "0x7f.1", "127.1") is refused with rule "ip-spelling": resolvers such as
// glibc's inet_aton turn them into loopback addresses.
func CheckHost(host string) error {
	if err := checkHost(host); err != nil {
		return err
	}
	return nil
}

func checkHost(host string) *RuleError {
	if host == "" {
		return ruleErr(RuleHostSyntax, SpecURISyntax, "must have a host")
	}
	if host[0] == '[' {
		return checkIPv6Literal(host)
	}
	if endsInNumber(host) {
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() && a.String() == host {
			return nil
		}
		return ruleErr(RuleIPSpelling, SpecSSRF, fmt.Sprintf(
			"host %q is an ambiguous IPv4 spelling (decimal, octal, hexadecimal and short forms are refused)", host))
	}
	return checkDNSName(host)
}

func checkIPv6Literal(host string) *RuleError {
	if len(host) < 2 || host[len(host)-1] != ']' {
		return ruleErr(RuleHostSyntax, SpecURISyntax, fmt.Sprintf("malformed IPv6 literal %q", host))
	}
	inner := host[1 : len(host)-1]
	if strings.IndexByte(inner, '%') >= 0 {
		return ruleErr(RuleIPSpelling, SpecSSRF, fmt.Sprintf(
			"IPv6 literal %q has a zone identifier", host))
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() {
		return ruleErr(RuleHostSyntax, SpecURISyntax, fmt.Sprintf("malformed IPv6 literal %q", host))
	}
	if canon := a.String(); canon != inner {
		return ruleErr(RuleIPSpelling, SpecSSRF, fmt.Sprintf(
			"IPv6 literal %q is not in canonical form; write [%s]", host, canon))
	}
	return nil
}

// endsInNumber is the WHATWG URL Standard's test for hosts that browsers
// parse as IPv4: the last label (ignoring one trailing dot) is all decimal
// digits, or "0x"/"0X" followed by hex digits.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

func checkDNSName(host string) *RuleError {
	if len(host) > 253 {
		return ruleErr(RuleHostSyntax, SpecURISyntax, "host name is longer than 253 bytes")
	}
	if host[len(host)-1] == '.' {
		return ruleErr(RuleHostSyntax, SpecGatehouseDecide, fmt.Sprintf(
			"host %q must not end with a dot", host))
	}
	for label := range strings.SplitSeq(host, ".") {
		if err := checkLabel(host, label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(host, label string) *RuleError {
	if label == "" || len(label) > 63 {
		return ruleErr(RuleHostSyntax, SpecURISyntax, fmt.Sprintf(
			"host %q has an empty or over-long (>63 bytes) label", host))
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return ruleErr(RuleHostSyntax, SpecURISyntax, fmt.Sprintf(
			"host %q has a label starting or ending with '-'", host))
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case 'A' <= c && c <= 'Z':
			return ruleErr(RuleHostSyntax, SpecGatehouseDecide, fmt.Sprintf(
				"host %q must be lowercase (client_ids are compared as exact strings)", host))
		default:
			return ruleErr(RuleHostSyntax, SpecURISyntax, fmt.Sprintf(
				"host %q contains %q; only a-z, 0-9, '-' and '.' are allowed", host, c))
		}
	}
	return nil
}
