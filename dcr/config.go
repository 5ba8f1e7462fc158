package dcr

import (
	"fmt"
	"time"
)

// Mode is the registration policy (dcr.mode).
type Mode string

const (
	// ModeOpen lets anyone register (RFC 7591 §3: SHOULD allow open
	// registration), within the rate limits.
	ModeOpen Mode = "open"
	// ModeToken requires an initial access token (RFC 7591 §3).
	ModeToken Mode = "token"
	// ModeClosed disables registration: no registration_endpoint in
	// discovery, and /register refuses.
	ModeClosed Mode = "closed"
)

// ParseMode validates a dcr.mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOpen, ModeToken, ModeClosed:
		return m, nil
	}
	return "", fmt.Errorf("%q is not one of open, token, closed", s)
}

// Config is the registration policy.
type Config struct {
	Mode Mode
	// UnusedClientTTL removes a client that never obtained a token.
	UnusedClientTTL time.Duration
	// IdleClientTTL removes a client with no token activity for this long.
	IdleClientTTL time.Duration
	// SecretTTL is the lifetime of issued client secrets; 0 means they do
	// not expire (client_secret_expires_at = 0, RFC 7591 §3.2.1).
	SecretTTL time.Duration
	// MaxRedirectURIs bounds redirect_uris.
	MaxRedirectURIs int
	// AllowClientCredentials keeps client_credentials in registrations
	// (dcr.allow_client_credentials). Off, it is dropped: anyone may
	// register, and the grant mints tokens with no user in the loop.
	AllowClientCredentials bool
	// Statements are the trusted software statement issuers.
	Statements StatementPolicy
	// RegistrationURL builds registration_client_uri for a client ID.
	RegistrationURL func(clientID string) string
}

// DefaultConfig is open registration with the hygiene defaults.
func DefaultConfig() Config {
	return Config{
		Mode:            ModeOpen,
		UnusedClientTTL: 24 * time.Hour,
		IdleClientTTL:   90 * 24 * time.Hour,
		MaxRedirectURIs: 20,
	}
}
