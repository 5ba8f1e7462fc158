package cimd

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// ssrfTargets are hosts that must never be connected to. Literal hosts are
// refused without a lookup; names are looked up through the test resolver
// (answers below) and refused without a dial.
var ssrfTargets = []struct {
	name string
	host string
}{
	// IPv4 special-use literals (RFC 6890).
	{"loopback", "127.0.0.1"},
	{"loopback other", "127.255.0.9"},
	{"this network", "0.0.0.0"},
	{"rfc1918 10/8", "10.0.0.5"},
	{"rfc1918 172.16/12", "172.16.0.1"},
	{"rfc1918 192.168/16", "192.168.1.1"},
	{"cgnat", "100.64.0.1"},
	{"alibaba metadata", "100.100.100.200"},
	{"cloud metadata", "169.254.169.254"},
	{"link-local", "169.254.1.1"},
	{"ietf assignments", "192.0.0.1"},
	{"test-net-1", "192.0.2.1"},
	{"test-net-2", "198.51.100.1"},
	{"test-net-3", "203.0.113.10"},
	{"benchmarking", "198.18.0.1"},
	{"6to4 relay", "192.88.99.1"},
	{"multicast", "224.0.0.1"},
	{"reserved", "240.0.0.1"},
	{"broadcast", "255.255.255.255"},
	// IPv6 special-use literals.
	{"v6 unspecified", "[::]"},
	{"v6 loopback", "[::1]"},
	{"aws v6 metadata", "[fd00:ec2::254]"},
	{"ula", "[fc00::1]"},
	{"ula fd", "[fd12:3456::1]"},
	{"v6 link-local", "[fe80::1]"},
	{"v6 zone id", "[fe80::1%25eth0]"},
	{"site-local", "[fec0::1]"},
	{"v6 multicast", "[ff02::1]"},
	{"v6 documentation", "[2001:db8::1]"},
	{"v6 documentation 3fff", "[3fff::1]"},
	{"discard-only", "[100::1]"},
	{"ipv4-mapped loopback", "[::ffff:127.0.0.1]"},
	{"ipv4-mapped metadata", "[::ffff:169.254.169.254]"},
	{"ipv4-mapped private", "[::ffff:10.0.0.1]"},
	{"ipv4-compatible loopback", "[::7f00:1]"},
	{"nat64 loopback", "[64:ff9b::7f00:1]"},
	{"nat64 metadata", "[64:ff9b::a9fe:a9fe]"},
	{"local-use nat64", "[64:ff9b:1::a00:1]"},
	{"6to4 loopback", "[2002:7f00:1::]"},
	{"6to4 metadata", "[2002:a9fe:a9fe::]"},
	{"teredo", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]"},
	{"ietf v6 block", "[2001:2::1]"},
	// Hostile spellings of 127.0.0.1.
	{"decimal", "2130706433"},
	{"octal", "0177.0.0.1"},
	{"octal full", "017700000001"},
	{"hex", "0x7f.1"},
	{"hex full", "0x7f000001"},
	{"short", "127.1"},
	{"non-canonical v6", "[0:0:0:0:0:0:0:1]"},
	// Names whose answers are forbidden.
	{"name to private", "internal.example"},
	{"name to loopback", "localhost"},
	{"name to metadata", "metadata.example"},
	{"name to ula", "ula.example"},
	{"name to mapped", "mapped.example"},
	{"name to nat64", "nat64.example"},
	{"one bad answer of two", "mixed.example"},
}

func ssrfNet(e *env) {
	e.net.resolveTo("internal.example", addrs("10.1.2.3"))
	e.net.resolveTo("localhost", addrs("127.0.0.1", "::1"))
	e.net.resolveTo("metadata.example", addrs("169.254.169.254"))
	e.net.resolveTo("ula.example", addrs("fd00::1"))
	e.net.resolveTo("mapped.example", addrs("::ffff:192.168.0.1"))
	e.net.resolveTo("nat64.example", addrs("64:ff9b::a00:1"))
	e.net.resolveTo("mixed.example", addrs("93.184.215.14", "10.0.0.1"))
	// Even if something tried, every forbidden address routes to the server.
	for _, a := range []string{"127.0.0.1", "10.1.2.3", "169.254.169.254", "10.0.0.1", "::1"} {
		e.net.routes[netip.MustParseAddr(a)] = e.host.srv.Listener.Addr().String()
	}
}

func TestSSRFTargetsAreNeverDialled(t *testing.T) {
	if len(ssrfTargets) < 40 {
		t.Fatalf("only %d SSRF targets; the issue asks for at least 40", len(ssrfTargets))
	}
	e := newEnv(t)
	ssrfNet(e)
	f := e.fetcher()
	for _, tt := range ssrfTargets {
		t.Run(tt.name, func(t *testing.T) {
			for _, kind := range []Kind{KindDocument, KindJWKS, KindLogo} {
				_, err := f.Fetch(context.Background(), Request{Kind: kind, URL: "https://" + tt.host + "/x.json"})
				if got := OutcomeOf(err); got != OutcomeBlockedAddress {
					t.Fatalf("%s fetch: outcome %q (%v); want blocked_address", kind, got, err)
				}
			}
			// Through the resolver too: same outcome, an invalid_client error
			// whose description is the one generic refusal (CWE-209), while
			// the check report keeps the precise reason.
			_, err := e.r.Resolve(context.Background(), "https://"+tt.host+"/client.json")
			if got := OutcomeOf(err); got != OutcomeBlockedAddress {
				t.Fatalf("Resolve: outcome %q (%v); want blocked_address", got, err)
			}
			// (A spelling refused on the URL string alone, before any
			// lookup, tells nothing about the network and keeps its rule.)
			var oe *oauth.Error
			if !errors.As(err, &oe) {
				t.Fatalf("Resolve: %v is not an *oauth.Error", err)
			}
			if strings.HasPrefix(oe.Description, "client_id URL: ") {
				return
			}
			if oe.Description != "metadata document: "+UnreachableDescription {
				t.Fatalf("Resolve: description %q; want the generic refusal", oe.Description)
			}
			rep := e.r.Check(context.Background(), "https://"+tt.host+"/client.json", "")
			if last := rep.Findings[len(rep.Findings)-1]; strings.Contains(last.Detail, UnreachableDescription) || !strings.Contains(last.Detail, "blocked_address") {
				t.Fatalf("cimd check lost the precise reason: %+v", last)
			}
		})
	}
	if n := e.net.dialCount(); n != 0 {
		t.Fatalf("%d connections were attempted: %v", n, e.net.dials)
	}
	if n := e.host.totalHits(); n != 0 {
		t.Fatalf("the server received %d requests", n)
	}
	if e.net.lookupCount("2130706433") != 0 || e.net.lookupCount("0x7f.1") != 0 {
		t.Fatal("an ambiguous IP spelling reached the DNS resolver")
	}
}

func TestBlockedAddressErrorNamesTheAddress(t *testing.T) {
	e := newEnv(t)
	ssrfNet(e)
	_, err := e.fetcher().Fetch(context.Background(), Request{Kind: KindDocument, URL: "https://metadata.example/c.json"})
	want := "host metadata.example resolves to 169.254.169.254, a cloud metadata address (CIMD -02 §8.6)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
}

// The rebinding resolver answers public first, private second. One fetch
// looks the name up once and dials exactly the address it checked; only a
// new connection looks it up again, and then it is refused.
func TestRebindingResolverCannotSwitchTheDialledAddress(t *testing.T) {
	e := newEnv(t)
	e.net.resolveTo("client.example", addrs("93.184.215.14"), addrs("127.0.0.1"))
	e.net.routes[netip.MustParseAddr("127.0.0.1")] = e.host.srv.Listener.Addr().String()
	e.host.serveJSON(testClientID, doc(testClientID))
	f := e.fetcher()
	resp, err := f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID})
	if err != nil {
		t.Fatal(err)
	}
	if resp.RemoteAddr != "93.184.215.14" {
		t.Fatalf("connected to %s; want the vetted 93.184.215.14", resp.RemoteAddr)
	}
	if n := e.net.lookupCount("client.example"); n != 1 {
		t.Fatalf("%d lookups for one fetch; want exactly 1", n)
	}
	if got := e.net.dials; len(got) != 1 || got[0] != "93.184.215.14:443" {
		t.Fatalf("dials = %v; want only the vetted address", got)
	}
	f.CloseIdleConnections() // force a new connection, hence a new lookup
	_, err = f.Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID})
	if OutcomeOf(err) != OutcomeBlockedAddress {
		t.Fatalf("second connection: %v; want blocked_address", err)
	}
	if got := e.net.dials; len(got) != 1 {
		t.Fatalf("dials = %v; the rebound address was dialled", got)
	}
}

// A dialer that lands somewhere other than the vetted address (a proxy, a
// NAT, a bug) is caught by the peer-address check.
func TestPeerAddressMustBeTheVettedAddress(t *testing.T) {
	e := newEnv(t)
	e.host.serveJSON(testClientID, doc(testClientID))
	deps := e.deps()
	deps.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		conn, err := e.net.Dial(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &routedConn{Conn: conn, remote: &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 443}}, nil
	}
	_, err := NewFetcher(e.cfg, deps).Fetch(context.Background(), Request{Kind: KindDocument, URL: testClientID})
	if OutcomeOf(err) != OutcomeBlockedAddress || !strings.Contains(err.Error(), "ended up at 10.9.9.9") {
		t.Fatalf("err = %v; want blocked_address naming the real peer", err)
	}
	if e.host.totalHits() != 0 {
		t.Fatal("a request was sent over the misdirected connection")
	}
}

// cimd.trusted_private_urls: an exact URL may reach a private address, but
// not loopback, and no other URL on the same host may.
func TestTrustedPrivateURLs(t *testing.T) {
	const trusted = "https://internal.example/oauth/client.json"
	e := newEnv(t, func(c *Config) { c.TrustedPrivateURLs = []string{trusted} })
	e.net.resolveTo("internal.example", addrs("10.1.2.3"))
	e.net.routes[netip.MustParseAddr("10.1.2.3")] = e.host.srv.Listener.Addr().String()
	e.host.serveJSON(trusted, doc(trusted))
	e.host.serveJSON("https://internal.example/other.json", doc("https://internal.example/other.json"))
	if _, err := e.r.Resolve(context.Background(), trusted); err != nil {
		t.Fatalf("trusted URL on a private address refused: %v", err)
	}
	_, err := e.r.Resolve(context.Background(), "https://internal.example/other.json")
	if OutcomeOf(err) != OutcomeBlockedAddress {
		t.Fatalf("untrusted URL on the same private host: %v; want blocked_address", err)
	}
	e.net.resolveTo("internal.example", addrs("127.0.0.1"))
	e.r.fetcher.CloseIdleConnections()
	e.r.Purge(trusted)
	_, err = e.r.Resolve(context.Background(), trusted)
	if OutcomeOf(err) != OutcomeBlockedAddress || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("trusted URL on loopback: %v; want blocked_address", err)
	}
	if e.host.hits("https://internal.example/other.json") != 0 {
		t.Fatal("the untrusted URL was fetched")
	}
}

// cimd.allow_private_addresses (development) reaches a real server on
// 127.0.0.1 with the real dialer, but never cloud metadata or link-local.
func TestDevelopmentModeAllowsLoopbackOnly(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowPrivateAddresses = true })
	e.net.resolveTo("client.example", addrs("127.0.0.1"))
	deps := e.deps()
	deps.Dial = nil // the real dialer, to the real listener
	_, port, _ := net.SplitHostPort(e.host.srv.Listener.Addr().String())
	url := "https://client.example:" + port + "/oauth/client.json"
	e.host.serveJSON(url, doc(url))
	r, err := NewResolver(e.cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if _, err := r.Resolve(context.Background(), url); err != nil {
		t.Fatalf("development mode refused loopback: %v", err)
	}
	for _, host := range []string{"169.254.169.254", "[fe80::1]", "[ff02::1]", "0.0.0.0"} {
		_, err := r.fetcher.Fetch(context.Background(), Request{Kind: KindDocument, URL: "https://" + host + "/c.json"})
		if OutcomeOf(err) != OutcomeBlockedAddress {
			t.Errorf("development mode: %s gave %v; want blocked_address", host, err)
		}
	}
}

func TestClassifyAddr(t *testing.T) {
	tests := []struct {
		addr  string
		class AddrClass
	}{
		{"93.184.215.14", AddrPublic},
		{"8.8.8.8", AddrPublic},
		{"2606:4700::1111", AddrPublic},
		{"::ffff:8.8.8.8", AddrPublic},
		{"64:ff9b::808:808", AddrPublic}, // NAT64 of 8.8.8.8: DNS64 networks need it
		{"2002:808:808::1", AddrPublic},  // 6to4 of 8.8.8.8
		{"10.0.0.1", AddrPrivate},
		{"100.64.1.1", AddrPrivate},
		{"fd12::1", AddrPrivate},
		{"::ffff:10.0.0.1", AddrPrivate},
		{"127.0.0.1", AddrLoopback},
		{"::1", AddrLoopback},
		{"169.254.169.254", AddrForbidden},
		{"fd00:ec2::254", AddrForbidden},
		{"64:ff9b::a9fe:a9fe", AddrForbidden},
		{"4000::1", AddrForbidden}, // outside 2000::/3
		{"5f00::1", AddrForbidden},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", AddrForbidden},
	}
	for _, tt := range tests {
		class, name := ClassifyAddr(netip.MustParseAddr(tt.addr))
		if class != tt.class {
			t.Errorf("ClassifyAddr(%s) = %d (%s); want %d", tt.addr, class, name, tt.class)
		}
		if class != AddrPublic && name == "" {
			t.Errorf("ClassifyAddr(%s) has no description", tt.addr)
		}
	}
	if c, _ := ClassifyAddr(netip.Addr{}); c != AddrForbidden {
		t.Error("the zero address must be forbidden")
	}
	if c, _ := ClassifyAddr(netip.MustParseAddr("fe80::1%eth0")); c != AddrForbidden {
		t.Error("zoned addresses must be forbidden")
	}
}
