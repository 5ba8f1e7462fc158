package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// CIMDConfig is how https client IDs are resolved (Client ID Metadata
// Documents, draft-ietf-oauth-client-id-metadata-document-02).
type CIMDConfig struct {
	Enabled               bool            `yaml:"enabled" help:"Accept https client IDs and advertise client_id_metadata_document_supported."`
	AllowPrivateAddresses bool            `yaml:"allow_private_addresses" help:"DEVELOPMENT ONLY: let metadata hosts resolve to loopback and private addresses (logged loudly at start). Link-local and cloud-metadata addresses stay refused."`
	ExtraCAFile           string          `yaml:"extra_ca_file" help:"DEVELOPMENT: a PEM bundle trusted for metadata hosts besides the system roots (logged loudly at start)."`
	Hosts                 CIMDHostsConfig `yaml:"hosts"`
	TrustedPrivateURLs    []string        `yaml:"trusted_private_urls" help:"Exact client_id (or jwks_uri/logo_uri) URLs allowed to resolve to private addresses (RFC 1918, CGNAT, ULA), never loopback: internal clients."`
	RedirectPolicy        string          `yaml:"redirect_policy" help:"How https redirect URIs must relate to the client_id host: same-site (registrable domain, public suffix list), same-origin or any. Loopback redirects and reverse-domain private-use schemes are allowed in every mode."`
	// AllowClientCredentials is off by default: anyone with a domain could
	// otherwise mint tokens for every resource with no user involved.
	AllowClientCredentials bool            `yaml:"allow_client_credentials" help:"Let private_key_jwt CIMD clients use the client_credentials grant (tokens with no user, sub = the client_id URL). Off: /token refuses it; restrict cimd.hosts.allow before turning it on."`
	Fetch                  CIMDFetchConfig `yaml:"fetch"`
	Cache                  CIMDCacheConfig `yaml:"cache"`
}

// CIMDHostsConfig is the client_id host allow/deny list.
type CIMDHostsConfig struct {
	Allow []string `yaml:"allow" help:"Host patterns (exact, or *.example.com for any subdomain) allowed as CIMD clients. Empty: any public host."`
	Deny  []string `yaml:"deny" help:"Host patterns refused as CIMD clients; deny wins over allow."`
}

// CIMDFetchConfig bounds every fetch of a document, key set or logo.
type CIMDFetchConfig struct {
	Timeout             time.Duration `yaml:"timeout" help:"Total deadline of one fetch, body included."`
	ConnectTimeout      time.Duration `yaml:"connect_timeout" help:"Deadline for the TCP connection."`
	TLSHandshakeTimeout time.Duration `yaml:"tls_handshake_timeout" help:"Deadline for the TLS handshake."`
	MaxBytes            int64         `yaml:"max_bytes" unit:"bytes" help:"Largest metadata document read (CIMD -02 §5 recommends 5 KB); larger is an error."`
	MaxJWKSBytes        int64         `yaml:"max_jwks_bytes" unit:"bytes" help:"Largest jwks_uri key set read."`
	MaxLogoBytes        int64         `yaml:"max_logo_bytes" unit:"bytes" help:"Largest logo_uri image read."`
	MaxConcurrent       int           `yaml:"max_concurrent" help:"Fetches in flight across all hosts."`
	MaxPerHost          int           `yaml:"max_per_host" help:"Fetches in flight to one host."`
	UserAgent           string        `yaml:"user_agent" help:"User-Agent of every fetch."`
}

// CIMDCacheConfig bounds the cache of validated documents.
type CIMDCacheConfig struct {
	MaxBytes                int64         `yaml:"max_bytes" unit:"bytes" help:"Memory for cached documents (the default holds well over 100,000)."`
	KeysMaxBytes            int64         `yaml:"keys_max_bytes" unit:"bytes" help:"Memory for cached jwks_uri key sets."`
	LogoMaxBytes            int64         `yaml:"logo_max_bytes" unit:"bytes" help:"Memory for cached logos."`
	MinTTL                  time.Duration `yaml:"min_ttl" help:"Shortest cache lifetime, whatever the document's Cache-Control says (no-store and no-cache get this)."`
	MaxTTL                  time.Duration `yaml:"max_ttl" help:"Longest cache lifetime."`
	DefaultTTL              time.Duration `yaml:"default_ttl" help:"Cache lifetime when the response has no Cache-Control or Expires."`
	StaleIfError            time.Duration `yaml:"stale_if_error" help:"How long after expiry the last valid document may be served while refreshes fail with network errors, timeouts, 5xx, 429 or an HTML 403 bot challenge (0s: never). A 404 or 410 removes the client at once. See When a metadata document host fails."`
	FailureBackoff          time.Duration `yaml:"failure_backoff" help:"Pause before a failed URL is fetched again; doubles per failure."`
	FailureBackoffMax       time.Duration `yaml:"failure_backoff_max" help:"Longest failure backoff. A host's Retry-After may lengthen a pause up to the longer of this and stale_if_error (at most 24h)."`
	RedirectRefetchInterval time.Duration `yaml:"redirect_refetch_interval" help:"At most one refetch per client in this interval when a redirect_uri is missing from the cached document, or a kid from its keys."`
}

func defaultCIMD() CIMDConfig {
	d := cimd.DefaultConfig()
	return CIMDConfig{
		Enabled:        d.Enabled,
		RedirectPolicy: string(d.RedirectPolicy),
		Fetch: CIMDFetchConfig{Timeout: d.Fetch.Timeout, ConnectTimeout: d.Fetch.ConnectTimeout, TLSHandshakeTimeout: d.Fetch.TLSHandshakeTimeout,
			MaxBytes: d.Fetch.MaxBytes, MaxJWKSBytes: d.Fetch.MaxJWKSBytes, MaxLogoBytes: d.Fetch.MaxLogoBytes,
			MaxConcurrent: d.Fetch.MaxConcurrent, MaxPerHost: d.Fetch.MaxPerHost, UserAgent: d.Fetch.UserAgent},
		Cache: CIMDCacheConfig{MaxBytes: d.Cache.MaxBytes, KeysMaxBytes: d.Cache.KeysMaxBytes, LogoMaxBytes: d.Cache.LogoMaxBytes,
			MinTTL: d.Cache.MinTTL, MaxTTL: d.Cache.MaxTTL, DefaultTTL: d.Cache.DefaultTTL, StaleIfError: d.Cache.StaleIfError,
			FailureBackoff: d.Cache.FailureBackoff, FailureBackoffMax: d.Cache.FailureBackoffMax,
			RedirectRefetchInterval: d.Cache.RedirectRefetchInterval},
	}
}

// cimdConfig converts the settings; it reads cimd.extra_ca_file.
func (c CIMDConfig) cimdConfig() (cimd.Config, error) {
	out := cimd.Config{
		Enabled: c.Enabled, AllowPrivateAddresses: c.AllowPrivateAddresses,
		Hosts:              policy.HostPolicy{Allow: c.Hosts.Allow, Deny: c.Hosts.Deny},
		TrustedPrivateURLs: c.TrustedPrivateURLs, RedirectPolicy: policy.RedirectMode(c.RedirectPolicy),
		Fetch: cimd.FetchConfig{Timeout: c.Fetch.Timeout, ConnectTimeout: c.Fetch.ConnectTimeout, TLSHandshakeTimeout: c.Fetch.TLSHandshakeTimeout,
			MaxBytes: c.Fetch.MaxBytes, MaxJWKSBytes: c.Fetch.MaxJWKSBytes, MaxLogoBytes: c.Fetch.MaxLogoBytes,
			MaxConcurrent: c.Fetch.MaxConcurrent, MaxPerHost: c.Fetch.MaxPerHost, UserAgent: c.Fetch.UserAgent},
		Cache: cimd.CacheConfig{MaxBytes: c.Cache.MaxBytes, KeysMaxBytes: c.Cache.KeysMaxBytes, LogoMaxBytes: c.Cache.LogoMaxBytes,
			MinTTL: c.Cache.MinTTL, MaxTTL: c.Cache.MaxTTL, DefaultTTL: c.Cache.DefaultTTL, StaleIfError: c.Cache.StaleIfError,
			FailureBackoff: c.Cache.FailureBackoff, FailureBackoffMax: c.Cache.FailureBackoffMax,
			RedirectRefetchInterval: c.Cache.RedirectRefetchInterval},
	}
	if c.ExtraCAFile != "" {
		pem, err := os.ReadFile(c.ExtraCAFile)
		if err != nil {
			return out, fmt.Errorf("cimd.extra_ca_file: %v", err)
		}
		if out.ExtraRootCAs, err = cimd.ParseCertificates(pem); err != nil {
			return out, err
		}
	}
	return out, nil
}

// validateCIMD reports the cimd section's problems by key.
func (c *Config) validateCIMD() []Problem {
	cc, err := c.CIMD.cimdConfig()
	var ps []Problem
	if err != nil {
		ps = append(ps, problemFrom(err.Error(), "cimd.extra_ca_file"))
	}
	if err := cc.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			ps = append(ps, problemFrom(line, "cimd.hosts"))
		}
	}
	return ps
}

// problemFrom splits "key: message"; messages without a key get fallback.
func problemFrom(line, fallback string) Problem {
	if key, msg, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(key, "cimd.") && !strings.Contains(key, " ") {
		return Problem{Key: key, Msg: msg}
	}
	return Problem{Key: fallback, Msg: line}
}
