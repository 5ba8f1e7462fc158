package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// internalNet is the network an attacker would like to map: names that
// resolve to internal addresses, names that do not exist, a broken
// resolver, and a public address whose port is closed. example.com is the
// one public host that serves documents (routed to the test's TLS server,
// whose certificate names it).
type internalNet struct {
	docs   string // host:port of the document server
	public netip.Addr
}

var errServFail = &net.DNSError{Err: "server misbehaving", Name: "servfail.corp.example", Server: "10.0.0.53:53"}

func (n *internalNet) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch host {
	case "example.com":
		return []netip.Addr{n.public}, nil
	case "db.corp.example":
		return []netip.Addr{netip.MustParseAddr("10.0.0.8")}, nil
	case "metadata.corp.example":
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	case "loop.corp.example":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	case "ula.corp.example":
		return []netip.Addr{netip.MustParseAddr("fd00::8")}, nil
	case "cgnat.corp.example":
		return []netip.Addr{netip.MustParseAddr("100.64.0.8")}, nil
	case "empty.corp.example":
		return nil, nil
	case "closed.example.net":
		return []netip.Addr{netip.MustParseAddr("93.184.216.99")}, nil
	case "servfail.corp.example":
		return nil, errServFail
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// dial routes the public address to the document server and refuses every
// other connection, as a closed port would.
func (n *internalNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap := netip.MustParseAddrPort(address)
	if ap.Addr() != n.public {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, n.docs)
	if err != nil {
		return nil, err
	}
	return peerConn{Conn: conn, peer: net.TCPAddrFromAddrPort(ap)}, nil
}

// peerConn reports the public address the dialer was asked for, as a
// connection through the real network would.
type peerConn struct {
	net.Conn
	peer net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.peer }

// TestCIMDRefusalsDoNotMapTheInternalNetwork (CWE-209): whatever the
// client_id or jwks_uri host resolves to, or whether it exists at all, an
// anonymous caller gets the same description at /authorize and /token;
// the precise reason is in the log.
func TestCIMDRefusalsDoNotMapTheInternalNetwork(t *testing.T) {
	host := newDocHost(t)
	port := host.srv.Listener.Addr().(*net.TCPAddr).Port
	inet := &internalNet{docs: host.srv.Listener.Addr().String(), public: netip.MustParseAddr("93.184.215.14")}
	logs := &syncBuffer{}
	env := newOAuthEnvFull(t, envOptions{Logs: logs, CIMD: func(clock *storetest.Clock) *cimd.Resolver {
		cfg := cimd.DefaultConfig()
		cfg.ExtraRootCAs = []*x509.Certificate{host.srv.Certificate()}
		// The operator's log: cimd's own lines at info, as serve sets it up.
		log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		r, err := cimd.NewResolver(cfg, cimd.Deps{Now: clock.Now, Resolver: inet, Dial: inet.dial, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}})
	withPort := func(h string) string { return "https://" + h + ":" + itoa(port) }

	// The leaks the old descriptions carried.
	leaks := []string{"10.0.0", "169.254", "127.0.0.1", "fd00", "100.64", "93.184", "10.0.0.53", "resolves", "no such host",
		"misbehaving", "resolver", "private", "loopback", "metadata address", "link-local", "shared address", "refused", "connect", "DNS", "no address"}
	hosts := []string{"db.corp.example", "metadata.corp.example", "loop.corp.example", "ula.corp.example", "cgnat.corp.example",
		"empty.corp.example", "nx.corp.example", "servfail.corp.example", "closed.example.net", "10.0.0.9", "[fd00::9]"}
	var pageDesc, tokenDesc string
	_, challenge := pkce()
	for _, h := range hosts {
		clientID := withPort(h) + "/agent.json"
		resp, page := env.get(authorizePath + "?" + authzParams(clientID, "http://127.0.0.1/callback", challenge).Encode())
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, cimd.UnreachableDescription) {
			t.Fatalf("%s: /authorize = %d, want the generic refusal:\n%s", h, resp.StatusCode, page)
		}
		detail := page[strings.Index(page, "<main"):strings.Index(page, "</main>")]
		for _, leak := range leaks {
			if strings.Contains(detail, leak) {
				t.Errorf("%s: /authorize page tells %q:\n%s", h, leak, detail)
			}
		}
		if pageDesc == "" {
			pageDesc = detail
		} else if detail != pageDesc {
			t.Errorf("%s: the /authorize page differs from the others:\n%s\nvs\n%s", h, detail, pageDesc)
		}
		r, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {"y"},
			"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID}}, "", "")
		desc, _ := body["error_description"].(string)
		if r.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" || !strings.Contains(desc, cimd.UnreachableDescription) {
			t.Fatalf("%s: /token = %d %v", h, r.StatusCode, body)
		}
		if tokenDesc == "" {
			tokenDesc = desc
		} else if desc != tokenDesc {
			t.Errorf("%s: /token description %q differs from %q", h, desc, tokenDesc)
		}
	}

	// A published document whose jwks_uri names an internal host.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	docPath := "/agent-jwt.json"
	clientID := withPort("example.com") + docPath
	host.publish(docPath, map[string]any{
		"client_id": clientID, "client_name": "Web Agent", "redirect_uris": []string{"http://127.0.0.1/callback"},
		"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256", "jwks_uri": withPort("db.corp.example") + "/jwks.json",
	})
	assertion := env.assertion(t, assertionOpts{key: key, kid: "k1", claims: map[string]any{"iss": clientID, "sub": clientID}})
	r, body := env.token(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {"y"},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}, "", "")
	desc, _ := body["error_description"].(string)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(desc, cimd.UnreachableDescription) {
		t.Fatalf("jwks_uri on an internal host: /token = %d %v", r.StatusCode, body)
	}
	for _, leak := range leaks {
		if strings.Contains(desc, leak) {
			t.Errorf("jwks_uri refusal tells %q: %s", leak, desc)
		}
	}

	// The operator still learns the precise reason, at info level.
	var info strings.Builder
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"INFO"`) && strings.Contains(line, "cimd: fetch failed") {
			info.WriteString(line + "\n")
		}
	}
	for _, want := range []string{"resolves to 10.0.0.8", "resolves to 169.254.169.254", "no such host", "connection refused", "DNS lookup for servfail.corp.example failed"} {
		if !strings.Contains(info.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}
