package cimd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// HostResolver looks up the addresses of a host name; *net.Resolver
// implements it. Tests inject a fake to map names onto chosen addresses.
type HostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a TCP connection to an "ip:port" address;
// (*net.Dialer).DialContext is one. Tests inject one that routes a public
// test address to a local TLS server (see Deps).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// vettedDialer is the http.Transport's DialContext. It resolves the host
// once, refuses the connection if ANY answer is a forbidden address, dials
// the vetted IP itself (never the name again: a second lookup is how DNS
// rebinding slips a private address past a check), and finally checks the
// connected socket's peer address (CIMD -02 §8.6). TLS SNI and the Host
// header still carry the name, because the transport builds them from the
// URL, not from the address dialled.
type vettedDialer struct {
	resolver       HostResolver
	dial           DialFunc
	connectTimeout time.Duration
	policy         addrPolicy
}

func (d *vettedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fetchErr(OutcomeNetworkError, "", specFetch, err, "malformed address %q", address)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil, fetchErr(OutcomeNetworkError, "", specFetch, err, "malformed port %q", portText)
	}
	addrs, err := d.vet(ctx, host)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, a := range addrs {
		conn, err := d.dialOne(ctx, netip.AddrPortFrom(a, uint16(port)))
		if err == nil {
			return conn, nil
		}
		var fe *FetchError
		if errors.As(err, &fe) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fetchErr(OutcomeNetworkError, "", specFetch, lastErr, "could not connect to %s (%s)", host, dialReason(lastErr))
}

// vet returns the addresses host may be reached at, or a blocked_address
// error naming the first forbidden one.
func (d *vettedDialer) vet(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if err := d.check(host, a); err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	// Only well-formed DNS names reach the resolver: glibc would read
	// "2130706433" or "0x7f.1" as 127.0.0.1.
	if err := policy.CheckHost(host); err != nil {
		return nil, fetchErr(OutcomeBlockedAddress, "", "", err, "%s", err)
	}
	addrs, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fetchErr(OutcomeTimeout, "", specFetch, err, "DNS lookup for %s timed out", host)
		}
		return nil, fetchErr(OutcomeNetworkError, "", specFetch, err, "DNS lookup for %s failed (%s)", host, dnsReason(err))
	}
	if len(addrs) == 0 {
		return nil, fetchErr(OutcomeNetworkError, "", specFetch, nil, "DNS lookup for %s returned no address", host)
	}
	for _, a := range addrs {
		if err := d.check(host, a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

func (d *vettedDialer) check(host string, a netip.Addr) error {
	class, name := ClassifyAddr(a)
	if d.policy.allows(class) {
		return nil
	}
	if host == a.String() {
		return fetchErr(OutcomeBlockedAddress, "", specSSRF, nil, "host %s is %s", a, name)
	}
	return fetchErr(OutcomeBlockedAddress, "", specSSRF, nil, "host %s resolves to %s, %s", host, a, name)
}

func (d *vettedDialer) dialOne(ctx context.Context, target netip.AddrPort) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, d.connectTimeout)
	defer cancel()
	conn, err := d.dial(dctx, "tcp", target.String())
	if err != nil {
		return nil, err
	}
	// Belt and braces: the socket must be connected to the vetted address.
	peer, perr := netip.ParseAddrPort(conn.RemoteAddr().String())
	if perr != nil || peer.Addr().Unmap() != target.Addr().Unmap() {
		conn.Close()
		return nil, fetchErr(OutcomeBlockedAddress, "", specSSRF, perr,
			"connection to %s ended up at %s", target.Addr(), conn.RemoteAddr())
	}
	return conn, nil
}

func dnsReason(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsNotFound:
			return "no such host"
		case dnsErr.IsTimeout:
			return "timeout"
		}
	}
	return "resolver error"
}

func dialReason(err error) string {
	switch {
	case err == nil:
		return "no address"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "connect timeout"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Sprintf("connection failed: %v", op.Err)
	}
	return "connection failed"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
