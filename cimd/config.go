package cimd

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Config is the operator's CIMD configuration. Each field maps one YAML key
// (named in its comment); DefaultConfig gives the defaults.
type Config struct {
	// Enabled accepts https client_ids at all (cimd.enabled).
	Enabled bool
	// AllowPrivateAddresses lets document hosts resolve to loopback and
	// private addresses (cimd.allow_private_addresses). Development only:
	// CIMD -02 §8.6 allows loopback only for servers on the same machine.
	// Link-local, cloud-metadata, multicast and reserved addresses stay
	// refused even then.
	AllowPrivateAddresses bool
	// ExtraRootCAs are trusted in addition to the system roots for every
	// fetch (cimd.extra_ca_file; cmd parses the PEM with ParseCertificates).
	// A certificate list rather than an *x509.CertPool: a pool cannot be
	// merged into the system pool, a list can be added to a clone of it, so
	// verification stays entirely crypto/tls's.
	ExtraRootCAs []*x509.Certificate
	// Hosts is the client_id host allow/deny list (cimd.hosts.allow,
	// cimd.hosts.deny), checked before any I/O.
	Hosts policy.HostPolicy
	// TrustedPrivateURLs are exact URLs (client_ids, or jwks_uri/logo_uri
	// values) that may resolve to private addresses (RFC 1918, CGNAT, ULA)
	// but never to loopback (cimd.trusted_private_urls; decision §6.9).
	TrustedPrivateURLs []string
	// RedirectPolicy binds https redirect URIs to the client_id
	// (cimd.redirect_policy: same-site, same-origin or any).
	RedirectPolicy policy.RedirectMode
	// Profiles are the client profiles (client_profiles): a profile that
	// names a client's host or client_id admits it beyond Hosts.Allow, and
	// its redirect_policy replaces RedirectPolicy for its clients. nil:
	// none.
	Profiles *policy.Profiles
	Fetch    FetchConfig
	Cache    CacheConfig
}

// FetchConfig bounds every outbound fetch.
type FetchConfig struct {
	Timeout             time.Duration // cimd.fetch.timeout: whole fetch, body included
	ConnectTimeout      time.Duration // cimd.fetch.connect_timeout
	TLSHandshakeTimeout time.Duration // cimd.fetch.tls_handshake_timeout
	MaxBytes            int64         // cimd.fetch.max_bytes: metadata documents (CIMD -02 §5: 5 KB)
	MaxJWKSBytes        int64         // cimd.fetch.max_jwks_bytes
	MaxLogoBytes        int64         // cimd.fetch.max_logo_bytes
	MaxConcurrent       int           // cimd.fetch.max_concurrent: in flight, all hosts
	MaxPerHost          int           // cimd.fetch.max_per_host: in flight, per host
	UserAgent           string        // cimd.fetch.user_agent
}

// CacheConfig bounds what is cached and for how long.
type CacheConfig struct {
	MaxBytes     int64         // cimd.cache.max_bytes: validated documents
	KeysMaxBytes int64         // cimd.cache.keys_max_bytes: jwks_uri key sets
	LogoMaxBytes int64         // cimd.cache.logo_max_bytes: logo images
	MinTTL       time.Duration // cimd.cache.min_ttl
	MaxTTL       time.Duration // cimd.cache.max_ttl
	DefaultTTL   time.Duration // cimd.cache.default_ttl: no freshness information
	// StaleIfError is how long after expiry the last valid copy may still be
	// served while refreshes fail with network errors, timeouts, 5xx or
	// throttling (429, an HTML 403; OutcomeThrottled)
	// (cimd.cache.stale_if_error). Zero disables it.
	StaleIfError time.Duration
	// FailureBackoff is the first per-URL pause after a failed fetch; it
	// doubles with each consecutive failure up to FailureBackoffMax
	// (cimd.cache.failure_backoff, cimd.cache.failure_backoff_max).
	FailureBackoff    time.Duration
	FailureBackoffMax time.Duration
	// RedirectRefetchInterval rate-limits, per client_id, the refetch done
	// when a redirect_uri is not in the cached document, and the refetch of
	// a jwks_uri on an unknown kid (cimd.cache.redirect_refetch_interval).
	RedirectRefetchInterval time.Duration
}

// DefaultUserAgent identifies Gatehouse to document hosts.
const DefaultUserAgent = "Gatehouse-CIMD/1 (+https://github.com/gatehouse-dev/gatehouse)"

// DefaultConfig returns the defaults of requirements §6.4 and the issue.
func DefaultConfig() Config {
	return Config{
		Enabled:        true,
		RedirectPolicy: policy.RedirectSameSite,
		Fetch: FetchConfig{
			Timeout:             5 * time.Second,
			ConnectTimeout:      2 * time.Second,
			TLSHandshakeTimeout: 3 * time.Second,
			MaxBytes:            5120,
			MaxJWKSBytes:        64 << 10,
			MaxLogoBytes:        64 << 10,
			MaxConcurrent:       64,
			MaxPerHost:          4,
			UserAgent:           DefaultUserAgent,
		},
		Cache: CacheConfig{
			MaxBytes:                256 << 20,
			KeysMaxBytes:            16 << 20,
			LogoMaxBytes:            64 << 20,
			MinTTL:                  30 * time.Second,
			MaxTTL:                  24 * time.Hour,
			DefaultTTL:              5 * time.Minute,
			StaleIfError:            time.Hour,
			FailureBackoff:          30 * time.Second,
			FailureBackoffMax:       5 * time.Minute,
			RedirectRefetchInterval: 15 * time.Second,
		},
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if err := c.Hosts.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := policy.ParseRedirectMode(string(c.RedirectPolicy)); err != nil {
		bad("cimd.redirect_policy", "%v", err)
	}
	for _, u := range c.TrustedPrivateURLs {
		if err := policy.CheckMetadataURL("URL", u); err != nil {
			bad("cimd.trusted_private_urls", "%q: %v", u, err)
		}
	}
	positive := []struct {
		key string
		v   int64
	}{
		{"cimd.fetch.timeout", int64(c.Fetch.Timeout)},
		{"cimd.fetch.connect_timeout", int64(c.Fetch.ConnectTimeout)},
		{"cimd.fetch.tls_handshake_timeout", int64(c.Fetch.TLSHandshakeTimeout)},
		{"cimd.fetch.max_bytes", c.Fetch.MaxBytes},
		{"cimd.fetch.max_jwks_bytes", c.Fetch.MaxJWKSBytes},
		{"cimd.fetch.max_logo_bytes", c.Fetch.MaxLogoBytes},
		{"cimd.fetch.max_concurrent", int64(c.Fetch.MaxConcurrent)},
		{"cimd.fetch.max_per_host", int64(c.Fetch.MaxPerHost)},
		{"cimd.cache.max_bytes", c.Cache.MaxBytes},
		{"cimd.cache.keys_max_bytes", c.Cache.KeysMaxBytes},
		{"cimd.cache.logo_max_bytes", c.Cache.LogoMaxBytes},
		{"cimd.cache.min_ttl", int64(c.Cache.MinTTL)},
		{"cimd.cache.max_ttl", int64(c.Cache.MaxTTL)},
		{"cimd.cache.default_ttl", int64(c.Cache.DefaultTTL)},
		{"cimd.cache.failure_backoff", int64(c.Cache.FailureBackoff)},
		{"cimd.cache.failure_backoff_max", int64(c.Cache.FailureBackoffMax)},
		{"cimd.cache.redirect_refetch_interval", int64(c.Cache.RedirectRefetchInterval)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			bad(p.key, "must be positive")
		}
	}
	if c.Cache.StaleIfError < 0 {
		bad("cimd.cache.stale_if_error", "must not be negative")
	}
	if c.Cache.MinTTL > c.Cache.MaxTTL {
		bad("cimd.cache.min_ttl", "%s is above cimd.cache.max_ttl %s", c.Cache.MinTTL, c.Cache.MaxTTL)
	}
	if c.Cache.DefaultTTL < c.Cache.MinTTL || c.Cache.DefaultTTL > c.Cache.MaxTTL {
		bad("cimd.cache.default_ttl", "%s is outside [min_ttl, max_ttl]", c.Cache.DefaultTTL)
	}
	if c.Cache.FailureBackoff > c.Cache.FailureBackoffMax {
		bad("cimd.cache.failure_backoff", "%s is above cimd.cache.failure_backoff_max %s",
			c.Cache.FailureBackoff, c.Cache.FailureBackoffMax)
	}
	if c.Fetch.MaxPerHost > c.Fetch.MaxConcurrent {
		bad("cimd.fetch.max_per_host", "%d is above cimd.fetch.max_concurrent %d", c.Fetch.MaxPerHost, c.Fetch.MaxConcurrent)
	}
	return errors.Join(errs...)
}

// redirectMode is the redirect policy that judges clientID's document:
// its client profile's, else RedirectPolicy.
func (c *Config) redirectMode(clientID string) policy.RedirectMode {
	return c.Profiles.RedirectFor(clientID, c.RedirectPolicy)
}

// ParseCertificates parses PEM "CERTIFICATE" blocks (the content of
// cimd.extra_ca_file) for Config.ExtraRootCAs.
func ParseCertificates(pemData []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, pemData = pem.Decode(pemData)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cimd.extra_ca_file: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("cimd.extra_ca_file: no PEM CERTIFICATE block found")
	}
	return certs, nil
}
