package dcr

import (
	"context"
	"testing"
)

// TestDeduplicationPerIPv6Subnet: identical unused public registrations
// from one IPv6 /64 (one host or site, RFC 4291 §2.5.4) share a record, as
// those from one IPv4 address do; other /64s get their own. The record
// keeps the full address it came from.
func TestDeduplicationPerIPv6Subnet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	register := func(ip string) string {
		t.Helper()
		info, err := e.svc.Register(ctx, []byte(inspectorBody), ip, "")
		if err != nil {
			t.Fatalf("register from %s: %v", ip, err)
		}
		return info.ClientID
	}
	first := register("2001:db8:1:2::1")
	for _, ip := range []string{"2001:db8:1:2:8a3f:11ff:fe22:3344", "2001:DB8:1:2::1"} {
		if id := register(ip); id != first {
			t.Fatalf("registration from %s (same /64) = %s, want the record %s", ip, id, first)
		}
	}
	for _, ip := range []string{"2001:db8:1:3::1", "2001:db8:1:1:ffff:ffff:ffff:ffff"} {
		if id := register(ip); id == first {
			t.Fatalf("registration from %s (another /64) merged into %s", ip, first)
		}
	}
	rec, err := e.store.Client(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RegisteredFrom != "2001:db8:1:2::1" {
		t.Fatalf("registered_from = %q, want the full first address", rec.RegisteredFrom)
	}

	// An IPv4 host is one key however its address is written.
	v4 := register("198.51.100.7")
	if id := register("::ffff:198.51.100.7"); id != v4 {
		t.Fatalf("IPv4-mapped registration = %s, want %s", id, v4)
	}
	if id := register("198.51.100.8"); id == v4 {
		t.Fatal("registrations from two IPv4 hosts were merged")
	}
}
