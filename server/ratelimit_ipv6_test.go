package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
)

// An IPv6 host holds a whole /64 (RFC 4291 §2.5.4) and can send each
// request from a fresh address in it; the per-address limits must count
// the /64, not the address.

func TestRegistrationLimitPerIPv6Subnet(t *testing.T) {
	env := newDCREnv(t, dcr.ModeOpen, func(c *Config) {
		c.Register = RegisterLimits{PerIPPerMinute: 2, GlobalPerSecond: 100, MaxBody: 16 << 10}
		c.TrustedProxies = mustPrefixes("127.0.0.0/8")
	})
	from := func(ip, name string) int {
		t.Helper()
		resp, body := env.register(strings.Replace(legacyBody, "Legacy CLI", name, 1), "X-Forwarded-For", ip)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("registration from %s = %d %v", ip, resp.StatusCode, body)
		}
		return resp.StatusCode
	}
	// Two addresses of one /64 share its two registrations a minute...
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:a:b:c:d"} {
		if code := from(ip, "cli-"+itoa(i)); code != http.StatusCreated {
			t.Fatalf("registration %d = %d, want 201", i+1, code)
		}
	}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:DB8:1:2::99"} {
		if code := from(ip, "cli-more"); code != http.StatusTooManyRequests {
			t.Fatalf("third registration from the /64, via %s = %d, want 429", ip, code)
		}
	}
	// ...while the neighbouring /64s, and IPv4 hosts, have their own.
	for _, ip := range []string{"2001:db8:1:3::1", "2001:db8:1:1:ffff:ffff:ffff:ffff", "198.51.100.1", "198.51.100.2"} {
		if code := from(ip, "cli-"+ip); code != http.StatusCreated {
			t.Fatalf("registration from %s = %d, want 201", ip, code)
		}
	}
	env.clock.Advance(time.Minute)
	if code := from("2001:db8:1:2::7", "cli-later"); code != http.StatusCreated {
		t.Fatalf("a minute later = %d, want 201", code)
	}
}

func TestLoginLimitPerIPv6Subnet(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.TrustedProxies = mustPrefixes("127.0.0.0/8")
		c.Login = LoginLimits{MaxFailuresAccountIP: 100, MaxFailuresIP: 2, Window: time.Minute}
	})
	env.addUser("alice", "correct horse")
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if resp, _ := env.login("nobody"+itoa(i), "guess", "X-Forwarded-For", ip); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d from %s = %d, want 401", i+1, ip, resp.StatusCode)
		}
	}
	if resp, _ := env.login("alice", "correct horse", "X-Forwarded-For", "2001:db8:1:2::3"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third address of the /64 = %d, want 429", resp.StatusCode)
	}
	if resp, _ := env.login("alice", "correct horse", "X-Forwarded-For", "2001:db8:1:3::1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another /64 = %d, want 303", resp.StatusCode)
	}
}
