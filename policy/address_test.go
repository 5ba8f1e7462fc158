package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAddressKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},  // IPv4-mapped: the IPv4 host
		{"::ffff:c633:6407", "198.51.100.7"},     // the same, in hex
		{"::FFFF:198.51.100.7", "198.51.100.7"},  // case does not matter
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"}, // one /64...
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:0:0:0:abcd", "2001:db8:1:2::/64"}, // ...however written
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},         // the next /64 is another key
		{"fe80::1%eth0", "fe80::/64"},                    // zone dropped
		{"fe80::1%25eth0", "fe80::/64"},                  // a zone is any string
		{"::1", "::/64"},
		{"::", "::/64"},
		{"::198.51.100.7", "::/64"}, // IPv4-compatible (deprecated) is IPv6
		{"::ffff:198.51.100.7%eth0", "198.51.100.7"},
		// Not addresses: unchanged.
		{"", ""},
		{"garbage", "garbage"},
		{"198.51.100.7:443", "198.51.100.7:443"},
		{"[2001:db8::1]", "[2001:db8::1]"},
		{"2001:db8::/64", "2001:db8::/64"},
		{"198.51.100.256", "198.51.100.256"},
		{"0198.51.100.7", "0198.51.100.7"}, // leading zeros are ambiguous (octal?)
		{" 198.51.100.7", " 198.51.100.7"},
		{"2001:db8::1\x00", "2001:db8::1\x00"},
	}
	for _, tt := range tests {
		if got := AddressKey(tt.in); got != tt.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzAddressKey: keys are stable (a key is its own key), an IPv4 key is
// the unmapped address, an IPv6 key is the /64 holding the address, and
// anything else passes through untouched.
func FuzzAddressKey(f *testing.F) {
	for _, s := range []string{"198.51.100.7", "::ffff:198.51.100.7", "2001:db8:1:2::1", "fe80::1%eth0", "", "x", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key := AddressKey(in)
		if again := AddressKey(key); again != key {
			t.Fatalf("AddressKey(%q) = %q, but AddressKey(%q) = %q", in, key, key, again)
		}
		addr, err := netip.ParseAddr(in)
		switch {
		case err != nil:
			if key != in {
				t.Fatalf("not an address %q became %q", in, key)
			}
		case addr.Unmap().Is4():
			if key != addr.Unmap().String() {
				t.Fatalf("IPv4 %q keyed %q", in, key)
			}
		default:
			p, err := netip.ParsePrefix(key)
			if err != nil || p.Bits() != 64 || !p.Contains(addr.WithZone("")) || strings.Contains(key, "%") {
				t.Fatalf("IPv6 %q keyed %q, want its /64", in, key)
			}
		}
	})
}
