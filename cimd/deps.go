package cimd

import (
	"log/slog"
	"net"
	"time"
)

// Deps are the resolver's and fetcher's injectable dependencies. Zero
// values take the production defaults.
//
// The test seam: Resolver maps a test host name ("client.example") to a
// public-looking address (e.g. 93.184.215.14), so the address policy sees
// what it would see in production; Dial then routes that address to a
// local httptest TLS server and reports the public address as the peer.
// TLS verification and SNI use the URL's host name, so tests issue their
// own CA and leaf certificate for those names (Config.ExtraRootCAs).
type Deps struct {
	Now      func() time.Time // default time.Now
	Resolver HostResolver     // default net.DefaultResolver
	Dial     DialFunc         // default (&net.Dialer{}).DialContext
	Observer Observer         // default none
	Logger   *slog.Logger     // default: discard
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Resolver == nil {
		d.Resolver = net.DefaultResolver
	}
	if d.Dial == nil {
		d.Dial = (&net.Dialer{}).DialContext
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}
