package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Config is every setting Gatehouse reads. The yaml tag of each field is its
// key (nested with dots: tls.cert_file), which is also the source of its
// environment variable (GATEHOUSE_TLS_CERT_FILE) and flag (--tls-cert-file).
// Key names are a contract with operators' scripts: never rename one.
//
// The help tag is the one-line meaning shown by the configuration reference;
// unit says what a number or duration counts; secret:"true" masks the value
// in `gatehouse config check`.
type Config struct {
	Issuer         string           `yaml:"issuer" help:"Issuer identifier (RFC 8414): the base URL of every endpoint. https, or http for a loopback host only; no query, fragment or trailing slash, and a path as plain text (no percent-encoding)."`
	Listen         string           `yaml:"listen" help:"host:port of the public HTTP(S) listener."`
	DataDir        string           `yaml:"data_dir" help:"Directory of the embedded bbolt database (created with mode 0700); unused with store.backend postgres."`
	Store          StoreConfig      `yaml:"store"`
	TLS            TLSConfig        `yaml:"tls"`
	TrustedProxies []string         `yaml:"trusted_proxies" help:"CIDRs of reverse proxies whose X-Forwarded-For header is believed. Empty: the peer address is the client address."`
	Log            LogConfig        `yaml:"log"`
	Login          LoginConfig      `yaml:"login"`
	Tokens         TokensConfig     `yaml:"tokens"`
	Server         ServerConfig     `yaml:"server"`
	DCR            DCRConfig        `yaml:"dcr"`
	CIMD           CIMDConfig       `yaml:"cimd"`
	Admin          AdminConfig      `yaml:"admin"`
	Resources      []ResourceConfig `yaml:"resources" help:"The resource servers (MCP servers) Gatehouse issues tokens for. A token's aud is the requested resource (RFC 8707); any other resource is invalid_target."`
	Clients        []ClientConfig   `yaml:"clients" help:"Operator-registered clients. URL client IDs (CIMD) and dynamically registered clients need no entry here."`
	// IdentityAssertions configures enterprise-managed authorization (ID-JAG).
	IdentityAssertions IdentityAssertionsConfig `yaml:"identity_assertions"`
	// ClientProfiles is a contract (issue 13): ordered, first match wins.
	ClientProfiles []ProfileConfig `yaml:"client_profiles" help:"Per-kind trust, in order: the first profile whose match fits a client applies; a client no profile matches gets the built-in default (no approval, remembered consent, cimd.redirect_policy, cimd/dcr.allow_client_credentials, no ceilings). Reloadable."`
	Approvals      ApprovalsConfig `yaml:"approvals"`
}

// DCRConfig is the dynamic client registration policy (RFC 7591/7592).
type DCRConfig struct {
	Mode               string                   `yaml:"mode" help:"open (anyone may register, rate-limited), token (an initial access token from 'gatehouse dcr token create' is required) or closed (no registration_endpoint; /register refuses)."`
	UnusedClientTTL    time.Duration            `yaml:"unused_client_ttl" help:"A registered client that never obtains a token is removed after this long."`
	IdleClientTTL      time.Duration            `yaml:"idle_client_ttl" help:"A registered client with no token activity for this long is removed. Active clients never expire."`
	ClientSecretTTL    time.Duration            `yaml:"client_secret_ttl" help:"Lifetime of issued client secrets; 0s means they do not expire (client_secret_expires_at = 0)."`
	MaxBodyBytes       int64                    `yaml:"max_body_bytes" unit:"bytes" help:"Largest registration body accepted."`
	MaxRedirectURIs    int                      `yaml:"max_redirect_uris" help:"Most redirect URIs one client may register."`
	RateLimitPerIP     int                      `yaml:"rate_limit_per_ip" unit:"registrations per minute" help:"Registrations allowed from one client IP (through trusted_proxies); an IPv6 client counts as its /64."`
	RateLimitGlobal    int                      `yaml:"rate_limit_global" unit:"registrations per second" help:"Registrations allowed in all (burst twice that)."`
	SoftwareStatements SoftwareStatementsConfig `yaml:"software_statements"`
	// AllowClientCredentials is off by default: a client anyone can register
	// would otherwise mint tokens for every resource with no user involved.
	AllowClientCredentials bool `yaml:"allow_client_credentials" help:"Let registered clients use the client_credentials grant (tokens with no user, sub = client_id, for any configured resource). Off: the grant is dropped from registrations (refused when nothing else is asked for) and refused at /token for every registered client."`
}

// SoftwareStatementsConfig lists the trusted software statement issuers.
type SoftwareStatementsConfig struct {
	Required bool                    `yaml:"required" help:"Refuse registrations without a software statement from a trusted issuer."`
	Issuers  []StatementIssuerConfig `yaml:"issuers" help:"Issuers whose software statements are trusted; their claims win over the registration JSON (RFC 7591 §2.3)."`
}

// StatementIssuerConfig is one trusted software statement issuer.
type StatementIssuerConfig struct {
	Issuer     string          `yaml:"issuer" help:"The statements' exact iss."`
	JWKS       json.RawMessage `yaml:"jwks" help:"The issuer's public keys (JWK Set)."`
	Algorithms []string        `yaml:"algorithms" help:"Accepted JWS algorithms (default: every asymmetric one)."`
}

// ResourceConfig is one resource server: an exact URI or a URI prefix.
type ResourceConfig struct {
	URI     string   `yaml:"uri" help:"The resource's URI (e.g. https://mcp.example.com/mcp), matched after RFC 3986 normalization (case of scheme and host, default port, empty path and /, encoded unreserved characters); tokens name it in aud exactly as written here."`
	Prefix  string   `yaml:"prefix" help:"Instead of uri: every resource under this prefix, which must end with /, matched after the same normalization; aud is this prefix followed by the rest of the requested URI in normal form."`
	Scopes  []string `yaml:"scopes" help:"Scopes this resource accepts. Other requested scopes are dropped from the token, and the token response says what was granted (RFC 6749 §3.3); invalid_scope only when nothing usable is left."`
	Default bool     `yaml:"default" help:"Use this resource when a request names none (at most one, uri only)."`
	Claims  []string `yaml:"claims" help:"User claims copied into this resource's access tokens: email, email_verified, name, groups, preferred_username. Nothing is copied unless listed, except that email always brings email_verified (an unverified address must not read as verified)."`
	// ScopeAccess restricts scopes to some users.
	ScopeAccess []ScopeAccessConfig `yaml:"scope_access" help:"Who may be granted which scopes: a scope named in any entry goes only to users matching one of its entries; every other scope stays open to every user. Re-checked at refresh."`
}

// ScopeAccessConfig is one resources[].scope_access entry.
type ScopeAccessConfig struct {
	Scopes []string `yaml:"scopes" help:"The restricted scopes."`
	Groups []string `yaml:"groups" help:"Upstream groups whose members may be granted them (GitHub: org or org/team)."`
	Users  []string `yaml:"users" help:"Users who may be granted them: a login name, a usr_ subject, or an upstream username or verified email (an email the provider does not mark verified never matches). An upstream username is whatever a provider says; where users pick their own, or with several providers, prefer usr_ subjects or Gatehouse login names (corp-alice)."`
}

// ClientConfig is an operator-registered client (RFC 7591 §2 fields).
type ClientConfig struct {
	ClientID                string          `yaml:"client_id" help:"The client identifier. Must not start with https:// (that namespace is CIMD's)."`
	ClientName              string          `yaml:"client_name" help:"Name shown on the consent page."`
	RedirectURIs            []string        `yaml:"redirect_uris" help:"Registered redirect URIs: https, http on loopback (any port), or a private-use scheme."`
	TokenEndpointAuthMethod string          `yaml:"token_endpoint_auth_method" help:"none, client_secret_basic, client_secret_post or private_key_jwt. Default: client_secret_basic with a secret, private_key_jwt with keys, else none."`
	ClientSecret            string          `yaml:"client_secret" secret:"true" help:"Shared secret (at least 16 characters) for the client_secret_* methods."`
	ClientSecretFile        string          `yaml:"client_secret_file" help:"Instead of client_secret: a file holding it."`
	JWKS                    json.RawMessage `yaml:"jwks" help:"Public keys for private_key_jwt, as a JWK Set (YAML or JSON)."`
	JWKSURI                 string          `yaml:"jwks_uri" help:"Instead of jwks: an https URL of the client's JWK Set."`
	GrantTypes              []string        `yaml:"grant_types" help:"authorization_code, refresh_token, client_credentials. Default: authorization_code and refresh_token."`
	Scope                   string          `yaml:"scope" help:"Space-separated scopes the client may be granted: a ceiling (requested scopes outside it are dropped). Empty: any scope its resources accept. Only operator-configured clients have a ceiling; the scope a DCR or CIMD client declares is what it can use, not a limit."`
	AllowIntrospection      bool            `yaml:"allow_introspection" help:"Let this client (a resource server or gateway, authenticated with a secret or keys) introspect every token Gatehouse issues, with the user's login name (RFC 7662). Every other confidential client may introspect only tokens issued to itself, without username; anything else is reported inactive."`
}

// TLSConfig enables HTTPS on the listener. Leave both empty to serve plain
// HTTP (behind a TLS-terminating proxy, or on loopback).
type TLSConfig struct {
	CertFile string `yaml:"cert_file" help:"PEM certificate chain for HTTPS on the listener."`
	KeyFile  string `yaml:"key_file" help:"PEM private key for tls.cert_file."`
	// HSTSMaxAge applies only when Gatehouse terminates TLS itself: behind
	// a TLS-terminating proxy, the proxy owns the header (and Gatehouse's
	// plain-HTTP answers must not carry it, RFC 6797 §7.2).
	HSTSMaxAge time.Duration `yaml:"hsts_max_age" help:"With tls.cert_file set, every response carries Strict-Transport-Security with this max-age, in whole seconds (RFC 6797), so browsers refuse plain http to this host afterwards; 0s sends no header. Without tls.cert_file (TLS ends at a proxy, which adds its own) it is never sent."`
}

// LogConfig controls the structured log on standard error.
type LogConfig struct {
	Level  string `yaml:"level" help:"Minimum level: debug, info, warn or error."`
	Format string `yaml:"format" help:"text (human-readable) or json (one object per line)."`
}

// LoginConfig controls end-user sign-in.
type LoginConfig struct {
	SessionTTL           time.Duration       `yaml:"session_ttl" help:"How long a browser stays signed in."`
	MaxFailuresAccountIP int                 `yaml:"max_failures_per_account_ip" unit:"attempts" help:"Failed sign-ins allowed for one account from one client IP (an IPv6 client counts as its /64) per login.failure_window; past it that address is refused (429) for that account, while the right password from any other address still signs in."`
	MaxFailuresIP        int                 `yaml:"max_failures_per_ip" unit:"attempts" help:"Failed sign-ins allowed from one client IP (an IPv6 client counts as its /64), all accounts together, per login.failure_window; past it the address is refused (429)."`
	MaxFailuresAccount   int                 `yaml:"max_failures_per_account" unit:"attempts" help:"Failed sign-ins for one account from all addresses together (distributed guessing) per login.failure_window; past it the account is slowed, never refused: its sign-ins are checked one per login.account_slowdown, and the right password still signs in."`
	FailureWindow        time.Duration       `yaml:"failure_window" help:"Window over which the failure allowances refill."`
	AccountSlowdown      time.Duration       `yaml:"account_slowdown" help:"Spacing of the sign-in checks of an account past login.max_failures_per_account; a request waits for its turn (429 with Retry-After only when the queue is over 20s)."`
	TrustedDeviceTTL     time.Duration       `yaml:"trusted_device_ttl" help:"Lifetime of the trusted-device cookie a browser gets when it signs in with a password: later sign-ins to that account from that browser skip the per-address limits and the account slowdown (a distributed guesser cannot queue the user out), within their own allowance of login.max_failures_per_account_ip failures. 0s: no trusted devices."`
	Password             LoginPasswordConfig `yaml:"password"`
	Providers            []ProviderConfig    `yaml:"providers" help:"Upstream identity providers users sign in with (one button each; with exactly one and login.password.enabled false, /login goes straight to it). Register {issuer}/login/{id}/callback upstream; 'gatehouse config check' prints it."`
}

// LoginPasswordConfig switches the built-in password accounts.
type LoginPasswordConfig struct {
	Enabled bool `yaml:"enabled" help:"Offer the password form for accounts made with 'gatehouse user add'. Off: only login.providers sign users in."`
}

// TokensConfig sets token lifetimes.
type TokensConfig struct {
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl" help:"Lifetime of JWT access tokens (exp - iat)."`
	RefreshIdleTTL  time.Duration `yaml:"refresh_token_idle_ttl" help:"A refresh token unused for this long expires."`
	KeyPublishAhead time.Duration `yaml:"key_publish_ahead" help:"With store.backend postgres: how long a rotated-in signing key is in every instance's JWKS before any instance signs with it (instances learn of it within a second, or within 10s if the announcement is lost). With bbolt (one instance) a new key signs at once."`
	RefreshMaxTTL   time.Duration `yaml:"refresh_token_max_ttl" help:"Absolute lifetime of a grant: its refresh tokens stop working this long after the user approved."`
	// RefreshGracePeriod lets racing refreshes of one client share a token.
	RefreshGracePeriod time.Duration `yaml:"refresh_token_grace_period" help:"After a refresh token is rotated, how long the same client may present it again and get a fresh token pair without revoking anything (several processes sharing one credentials file, a retry after a lost response). Later reuse revokes the grant (RFC 9700 §4.14.2). 0s: strict, any reuse revokes."`
}

// ServerConfig tunes the HTTP server.
type ServerConfig struct {
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" help:"How long a graceful shutdown waits for in-flight requests."`
	BodyLimit       int64         `yaml:"body_limit" unit:"bytes" help:"Largest request body accepted on any endpoint."`
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Issuer:  "http://localhost:8080",
		Listen:  "127.0.0.1:8080",
		DataDir: "./gatehouse-data",
		Store:   defaultStore(),
		Log:     LogConfig{Level: "info", Format: "text"},
		Login: LoginConfig{
			SessionTTL:           12 * time.Hour,
			MaxFailuresAccountIP: 10,
			MaxFailuresIP:        30,
			MaxFailuresAccount:   100,
			FailureWindow:        15 * time.Minute,
			AccountSlowdown:      3 * time.Second,
			TrustedDeviceTTL:     90 * 24 * time.Hour,
			Password:             LoginPasswordConfig{Enabled: true},
		},
		Tokens: TokensConfig{
			AccessTokenTTL:  10 * time.Minute,
			RefreshIdleTTL:  30 * 24 * time.Hour,
			RefreshMaxTTL:   90 * 24 * time.Hour,
			KeyPublishAhead: time.Minute,
			// 10 s covers processes that race on one credentials file
			// (milliseconds apart) and a retry after a lost response, and
			// keeps short the window in which a stolen token's replay
			// goes undetected (docs/configuration.md, "Refresh tokens").
			RefreshGracePeriod: 10 * time.Second,
		},
		TLS:    TLSConfig{HSTSMaxAge: 365 * 24 * time.Hour},
		Server: ServerConfig{ShutdownTimeout: 20 * time.Second, BodyLimit: 64 << 10},
		CIMD:   defaultCIMD(),
		// Three retries (1 s, 2 s, 4 s apart) ride out a webhook receiver's
		// restart without holding a notice for long.
		Approvals: ApprovalsConfig{WebhookTimeout: 5 * time.Second, WebhookRetries: 3},
		DCR: DCRConfig{
			Mode:            "open",
			UnusedClientTTL: 24 * time.Hour,
			IdleClientTTL:   90 * 24 * time.Hour,
			MaxBodyBytes:    16 << 10,
			MaxRedirectURIs: 20,
			RateLimitPerIP:  20,
			RateLimitGlobal: 50,
		},
	}
}

// Problem is one invalid setting.
type Problem struct {
	Key    string // dotted key, e.g. tls.cert_file
	Source string // where the value came from: "default", a file:line, an env var or a flag
	Msg    string
}

func (p Problem) String() string {
	if p.Source != "" && p.Source != "default" {
		return fmt.Sprintf("%s (%s): %s", p.Key, p.Source, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// Validate checks every setting and returns every problem, not just the
// first. sources names where each key's value came from.
func (c *Config) Validate() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if msg := checkIssuer(c.Issuer); msg != "" {
		bad("issuer", "%s", msg)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	}
	if strings.TrimSpace(c.DataDir) == "" && c.Store.Backend != "postgres" {
		bad("data_dir", "must not be empty")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "tls.cert_file and tls.key_file must be set together")
	}
	if c.TLS.HSTSMaxAge < 0 || c.TLS.HSTSMaxAge%time.Second != 0 {
		bad("tls.hsts_max_age", "must be 0s or a whole number of seconds, got %s", c.TLS.HSTSMaxAge)
	}
	for i, cidr := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR (e.g. 10.0.0.0/8 or 192.0.2.7/32)", cidr)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration, got %s", d)
		}
	}
	positive("login.session_ttl", c.Login.SessionTTL)
	positive("login.failure_window", c.Login.FailureWindow)
	if c.Login.MaxFailuresAccount < 1 {
		bad("login.max_failures_per_account", "must be at least 1")
	}
	if c.Login.MaxFailuresIP < 1 {
		bad("login.max_failures_per_ip", "must be at least 1")
	}
	if c.Login.MaxFailuresAccountIP < 1 {
		bad("login.max_failures_per_account_ip", "must be at least 1")
	}
	if c.Login.MaxFailuresAccount >= 1 && c.Login.MaxFailuresAccount < c.Login.MaxFailuresAccountIP {
		bad("login.max_failures_per_account", "must be at least login.max_failures_per_account_ip (%d): it counts every address together", c.Login.MaxFailuresAccountIP)
	}
	if c.Login.AccountSlowdown <= 0 || c.Login.AccountSlowdown > 20*time.Second {
		bad("login.account_slowdown", "must be more than 0s and at most 20s, got %s", c.Login.AccountSlowdown)
	}
	if c.Login.TrustedDeviceTTL < 0 || c.Login.TrustedDeviceTTL > 400*24*time.Hour {
		bad("login.trusted_device_ttl", "must be 0s (off) to 9600h (400 days, the longest cookie browsers keep), got %s", c.Login.TrustedDeviceTTL)
	}
	positive("tokens.access_token_ttl", c.Tokens.AccessTokenTTL)
	if c.Tokens.AccessTokenTTL > 24*time.Hour {
		bad("tokens.access_token_ttl", "%s is longer than 24h; access tokens should be short-lived (MCP §11.2)", c.Tokens.AccessTokenTTL)
	}
	positive("tokens.refresh_token_idle_ttl", c.Tokens.RefreshIdleTTL)
	positive("tokens.refresh_token_max_ttl", c.Tokens.RefreshMaxTTL)
	if c.Tokens.KeyPublishAhead < 0 || c.Tokens.KeyPublishAhead > time.Hour {
		bad("tokens.key_publish_ahead", "must be between 0s and 1h, got %s", c.Tokens.KeyPublishAhead)
	}
	if c.Tokens.RefreshIdleTTL > c.Tokens.RefreshMaxTTL {
		bad("tokens.refresh_token_idle_ttl", "%s is longer than tokens.refresh_token_max_ttl (%s)", c.Tokens.RefreshIdleTTL, c.Tokens.RefreshMaxTTL)
	}
	if g := c.Tokens.RefreshGracePeriod; g < 0 || g > 5*time.Minute {
		bad("tokens.refresh_token_grace_period", "%s is outside 0s to 5m; the grace period only covers racing refreshes, and every second of it is a second a stolen token's replay goes unnoticed", g)
	}
	positive("server.shutdown_timeout", c.Server.ShutdownTimeout)
	if c.Server.BodyLimit < 1<<10 {
		bad("server.body_limit", "must be at least 1024 bytes")
	}
	ps = append(ps, c.validateStore()...)
	ps = append(ps, c.validateDCR()...)
	ps = append(ps, c.validateCIMD()...)
	ps = append(ps, c.validateAdmin()...)
	ps = append(ps, c.validateApprovals()...)
	_, rps := buildResources(c.Resources)
	_, cps := buildClients(c.Clients)
	_, pps := buildProviderConfigs(c)
	_, aps := buildAssertionIssuers(c)
	_, fps := buildProfiles(*c)
	return append(append(append(append(append(ps, rps...), cps...), pps...), aps...), fps...)
}

// checkIssuer applies RFC 8414 §2 (https, no query or fragment) with the
// loopback exception for development.
func checkIssuer(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fmt.Sprintf("%q is not an absolute URL", issuer)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return "must not have a query or fragment (RFC 8414 §2)"
	}
	if u.User != nil {
		return "must not contain userinfo"
	}
	if strings.HasSuffix(u.Path, "/") {
		return "must not end with a slash: clients compare the issuer as a string"
	}
	if u.EscapedPath() != u.Path || strings.Contains(issuer, "%") {
		// Routes and return URLs are built from the path as written: one
		// that needs percent-encoding would name two different paths.
		return "the path must be plain text without percent-encoding"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return ""
		}
		return fmt.Sprintf("http is accepted only for loopback hosts; %q must use https", u.Hostname())
	default:
		return fmt.Sprintf("scheme %q is not https", u.Scheme)
	}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
