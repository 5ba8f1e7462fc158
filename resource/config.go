package resource

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds Config.Leeway: RFC 9068 §4 allows "some small
	// leeway, usually no more than a few minutes".
	MaxLeeway = 5 * time.Minute
	// NoLeeway is the Config.Leeway of a verifier that allows no clock
	// skew at all (any negative value means the same).
	NoLeeway time.Duration = -1
	// DefaultKeyCacheTTL is how long a fetched JWKS is used before it is
	// refreshed in the background (Gatehouse serves it with max-age=300).
	DefaultKeyCacheTTL = 5 * time.Minute
	// DefaultKeyRefreshInterval is the least time between two JWKS fetches
	// caused by tokens naming unknown kids. Short enough that a key
	// rotation is picked up within seconds, long enough that a flood of
	// forged kids costs the authorization server nothing.
	DefaultKeyRefreshInterval = 5 * time.Second
	// DefaultFetchTimeout bounds one metadata or JWKS fetch.
	DefaultFetchTimeout = 10 * time.Second
)

// DefaultAlgorithms are the JWS algorithms accepted when Config.Algorithms
// is empty: Gatehouse signs with ES256 only.
var DefaultAlgorithms = []string{string(jose.ES256)}

// asymmetricAlgorithms are the only algorithms Config.Algorithms may name.
// HS* is never allowed: the verification keys are public, and an HMAC
// "signed" with a public key proves nothing (RFC 8725 §2.1, §3.1).
var asymmetricAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// Config describes one protected resource and the authorization server it
// trusts. Only Resource and Issuer are required.
type Config struct {
	// Resource is the resource's canonical URL, e.g. the MCP endpoint
	// "https://mcp.example.com/mcp". A token is accepted only if its aud
	// contains this URI (RFC 9068 §4 step 4, RFC 8707), compared after RFC
	// 3986 §6.2.2-§6.2.3 normalization (oauth.SameResource: case of scheme
	// and host, default port, empty path and "/", percent-encoded
	// unreserved characters), and it is
	// the "resource" of the RFC 9728 metadata. Configure the same string as
	// a resources[].uri in Gatehouse.
	Resource string
	// Issuer is the authorization server's issuer identifier, compared
	// with iss exactly (RFC 9068 §4 step 3) and listed as the metadata's
	// authorization_servers.
	Issuer string
	// JWKSURL is where the issuer's public keys are. Empty: discover
	// jwks_uri from the issuer's RFC 8414 metadata, whose issuer must equal
	// Issuer (RFC 8414 §3.3).
	JWKSURL string
	// ScopesSupported are listed in the metadata (RFC 9728 §2); MCP
	// clients request them when no challenge names a scope.
	ScopesSupported []string
	// Algorithms are the accepted JWS "alg" values (default ES256).
	// Symmetric (HS*) and "none" are refused.
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat (zero:
	// DefaultLeeway; NoLeeway: none; at most MaxLeeway). Longer tolerates
	// clocks further apart but accepts an expired token for longer.
	Leeway time.Duration
	// KeyCacheTTL is how long fetched keys are used before a background
	// refresh (default DefaultKeyCacheTTL). Known keys keep working while
	// the authorization server is unreachable.
	KeyCacheTTL time.Duration
	// KeyRefreshInterval is the least time between two fetches of the
	// JWKS (or metadata) triggered by verification: unknown kids, a cold
	// cache, a failed fetch (default DefaultKeyRefreshInterval).
	KeyRefreshInterval time.Duration
	// HTTPClient fetches metadata and keys. Default: a client with a
	// DefaultFetchTimeout timeout that does not follow redirects.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives key-fetch failures and rotations (default: none).
	Logger *slog.Logger
	// Introspection, when set, also asks the authorization server whether
	// each verified token is still active (RFC 7662), so revocation takes
	// effect within Introspection.CacheTTL. Nil: offline verification only
	// (a revoked token works until it expires). See docs/resource-servers.md
	// for when to choose which.
	Introspection *Introspection
	// ResourceName and ResourceDocumentation are the optional
	// human-readable metadata of RFC 9728 §2.
	ResourceName          string
	ResourceDocumentation string
}

// withDefaults returns a copy of c with zero fields filled in.
func (c Config) withDefaults() Config {
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.KeyCacheTTL == 0 {
		c.KeyCacheTTL = DefaultKeyCacheTTL
	}
	if c.KeyRefreshInterval == 0 {
		c.KeyRefreshInterval = DefaultKeyRefreshInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout: DefaultFetchTimeout,
			// The configured URLs are the ones trusted; a redirect could
			// downgrade to http or leave the issuer's host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Introspection = c.Introspection.withDefaults()
	c.ScopesSupported = slices.Clone(c.ScopesSupported)
	c.Algorithms = slices.Clone(c.Algorithms)
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("resource: "+format, args...))
		}
	}
	if err := checkURL(c.Resource, true); err != nil {
		errs = append(errs, fmt.Errorf("resource: Resource: %w", err))
	}
	if err := checkURL(c.Issuer, false); err != nil {
		errs = append(errs, fmt.Errorf("resource: Issuer: %w", err))
	}
	if c.JWKSURL != "" {
		if err := checkURL(c.JWKSURL, false); err != nil {
			errs = append(errs, fmt.Errorf("resource: JWKSURL: %w", err))
		}
	}
	for _, alg := range c.Algorithms {
		check(!slices.Contains(asymmetricAlgorithms, jose.SignatureAlgorithm(alg)),
			"Algorithms: %q is not an accepted asymmetric JWS algorithm", alg)
	}
	for _, sc := range c.ScopesSupported {
		check(!validScopeToken(sc), "ScopesSupported: %q is not a scope token (RFC 6749 §3.3)", sc)
	}
	check(c.Leeway > MaxLeeway, "Leeway %v must be at most %v", c.Leeway, MaxLeeway)
	check(c.KeyCacheTTL < 0, "KeyCacheTTL %v must not be negative", c.KeyCacheTTL)
	check(c.KeyRefreshInterval < 0, "KeyRefreshInterval %v must not be negative", c.KeyRefreshInterval)
	if c.Introspection != nil {
		errs = append(errs, c.Introspection.validate()...)
	}
	if c.ResourceDocumentation != "" {
		u, err := url.Parse(c.ResourceDocumentation)
		check(err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "",
			"ResourceDocumentation %q is not an absolute http(s) URL", c.ResourceDocumentation)
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute https URL, or http on a loopback host (for
// development), without userinfo, query or fragment. Resource URLs must
// also have a path a ServeMux pattern can name unambiguously.
func checkURL(raw string, isResource bool) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.User != nil || strings.ContainsAny(raw, "#?\\ \t\r\n\"<>"):
		return fmt.Errorf("%q must not contain userinfo, a query, a fragment, quotes or spaces", raw)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return fmt.Errorf("%q: http is allowed only on a loopback host; use https", raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q must be an https URL", raw)
	}
	if isResource {
		// The metadata path is derived from this path and registered as a
		// route: it must mean the same to every router (no dot segments,
		// empty segments, ServeMux wildcards or echo parameters).
		path := u.Path // decoded: %2e%2e is a dot segment too
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			return fmt.Errorf("%q: the path must not contain encoded slashes", raw)
		}
		for i, seg := range strings.Split(path, "/") {
			if seg == "." || seg == ".." || strings.ContainsAny(seg, "{}:*") || seg == "" && i > 0 && i < strings.Count(path, "/") {
				return fmt.Errorf("%q: the path must not contain dot segments, empty segments or any of {}:*", raw)
			}
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validScopeToken: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}
