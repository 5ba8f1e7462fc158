package main

import (
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
	Issuer         string       `yaml:"issuer" help:"Issuer identifier (RFC 8414): the base URL of every endpoint. https, or http for a loopback host only."`
	Listen         string       `yaml:"listen" help:"host:port of the public HTTP(S) listener."`
	DataDir        string       `yaml:"data_dir" help:"Directory of the embedded bbolt database (created with mode 0700)."`
	TLS            TLSConfig    `yaml:"tls"`
	TrustedProxies []string     `yaml:"trusted_proxies" help:"CIDRs of reverse proxies whose X-Forwarded-For header is believed. Empty: the peer address is the client address."`
	Log            LogConfig    `yaml:"log"`
	Login          LoginConfig  `yaml:"login"`
	Tokens         TokensConfig `yaml:"tokens"`
	Server         ServerConfig `yaml:"server"`
}

// TLSConfig enables HTTPS on the listener. Leave both empty to serve plain
// HTTP (behind a TLS-terminating proxy, or on loopback).
type TLSConfig struct {
	CertFile string `yaml:"cert_file" help:"PEM certificate chain for HTTPS on the listener."`
	KeyFile  string `yaml:"key_file" help:"PEM private key for tls.cert_file."`
}

// LogConfig controls the structured log on standard error.
type LogConfig struct {
	Level  string `yaml:"level" help:"Minimum level: debug, info, warn or error."`
	Format string `yaml:"format" help:"text (human-readable) or json (one object per line)."`
}

// LoginConfig controls end-user sign-in.
type LoginConfig struct {
	SessionTTL         time.Duration `yaml:"session_ttl" help:"How long a browser stays signed in."`
	MaxFailuresAccount int           `yaml:"max_failures_per_account" unit:"attempts" help:"Failed sign-ins allowed for one account per login.failure_window before it is throttled."`
	MaxFailuresIP      int           `yaml:"max_failures_per_ip" unit:"attempts" help:"Failed sign-ins allowed from one client IP per login.failure_window before it is throttled."`
	FailureWindow      time.Duration `yaml:"failure_window" help:"Window over which the failure allowances refill."`
}

// TokensConfig sets token lifetimes.
type TokensConfig struct {
	AccessTokenTTL time.Duration `yaml:"access_token_ttl" help:"Lifetime of JWT access tokens (exp - iat)."`
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
		Log:     LogConfig{Level: "info", Format: "text"},
		Login: LoginConfig{
			SessionTTL:         12 * time.Hour,
			MaxFailuresAccount: 10,
			MaxFailuresIP:      30,
			FailureWindow:      15 * time.Minute,
		},
		Tokens: TokensConfig{AccessTokenTTL: 10 * time.Minute},
		Server: ServerConfig{ShutdownTimeout: 20 * time.Second, BodyLimit: 64 << 10},
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
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "tls.cert_file and tls.key_file must be set together")
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
	positive("tokens.access_token_ttl", c.Tokens.AccessTokenTTL)
	if c.Tokens.AccessTokenTTL > 24*time.Hour {
		bad("tokens.access_token_ttl", "%s is longer than 24h; access tokens should be short-lived (MCP §11.2)", c.Tokens.AccessTokenTTL)
	}
	positive("server.shutdown_timeout", c.Server.ShutdownTimeout)
	if c.Server.BodyLimit < 1<<10 {
		bad("server.body_limit", "must be at least 1024 bytes")
	}
	return ps
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
