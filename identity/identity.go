package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// Provider types (the type key of a login.providers entry).
const (
	TypeOIDC   = "oidc"
	TypeGitHub = "github"
)

// Identity is who the upstream says signed in. Subject is stable per
// provider (OIDC sub, GitHub's numeric user id); Username, Email, Name and
// Groups are claims that may change between sign-ins.
type Identity struct {
	// Provider is the login provider's id (login.providers[].id).
	Provider string `json:"provider"`
	// Subject is the upstream's stable identifier of the user.
	Subject string `json:"subject"`
	// Username is the preferred username (OIDC preferred_username,
	// GitHub login).
	Username string `json:"username,omitempty"`
	// Email is set only when the upstream vouches for it (verified), or
	// when the operator turned require_verified_email off.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	// Groups are upstream groups (OIDC groups claim; GitHub "org" and
	// "org/team").
	Groups []string `json:"groups,omitempty"`
	// AuthTime is when the upstream authenticated the user, when it says.
	AuthTime time.Time `json:"auth_time,omitzero"`
	// AMR and ACR are the upstream's authentication methods and context
	// class (OIDC Core §2), when it says.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// AuthRequest is what the server binds to the browser before sending it
// upstream: state and nonce are random per attempt, Verifier is the PKCE
// code verifier (RFC 7636), LoginHint is passed on when the client gave one.
type AuthRequest struct {
	State       string
	Nonce       string
	Verifier    string
	RedirectURI string
	LoginHint   string
	// MaxAge, when non-nil, asks the upstream to re-authenticate a user
	// whose sign-in is older (OIDC Core §3.1.2.1); 0 forces a fresh login.
	MaxAge *int
}

// Callback is the browser's return from the upstream.
type Callback struct {
	Code        string
	Verifier    string
	Nonce       string
	RedirectURI string
}

// Provider is one configured upstream. Implementations are safe for
// concurrent use.
type Provider interface {
	// ID is the provider's id: the {id} of /login/{id}/callback.
	ID() string
	// Name is the label of its button on the sign-in page.
	Name() string
	// Type is TypeOIDC or TypeGitHub.
	Type() string
	// AuthURL is where the browser goes to sign in upstream.
	AuthURL(ctx context.Context, r AuthRequest) (string, error)
	// Exchange redeems the authorization code and returns the verified
	// identity with admission already applied: a *RefusedError when the
	// rules refuse the user, an *UpstreamError when the upstream failed.
	Exchange(ctx context.Context, cb Callback) (Identity, error)
	// Admit re-applies the admission rules to an identity stored earlier
	// (at refresh and for ID-JAG): nil or a *RefusedError.
	Admit(id Identity) error
}

// RefusedError: the upstream authenticated the user but the operator's
// admission rules refuse them. Reason is safe to show to the user.
type RefusedError struct {
	Provider string
	Reason   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("identity provider %s: sign-in refused: %s", e.Provider, e.Reason)
}

// UpstreamError: the upstream could not be reached, answered with an
// error, or sent something that failed verification. Reason is safe to
// show; Err is for the log.
type UpstreamError struct {
	Provider string
	Reason   string
	Err      error
}

func (e *UpstreamError) Error() string {
	msg := fmt.Sprintf("identity provider %s: %s", e.Provider, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// IsRefused reports whether err is an admission refusal.
func IsRefused(err error) bool {
	var re *RefusedError
	return errors.As(err, &re)
}

// Deps are a provider's collaborators.
type Deps struct {
	// HTTPClient reaches the upstream (default: NewHTTPClient with no
	// extra CA). Tests inject one trusting their TLS server.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (d Deps) withDefaults() Deps {
	if d.HTTPClient == nil {
		d.HTTPClient, _ = NewHTTPClient("")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidID reports whether id may name a provider: it appears in URLs and
// in stored identities, so it is lower-case letters, digits, - and _
// (at most 32).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// New builds a provider from its configuration.
func New(cfg Config, deps Deps) (Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	switch cfg.Type {
	case TypeOIDC:
		return newOIDC(cfg, deps), nil
	case TypeGitHub:
		return newGitHub(cfg, deps), nil
	}
	return nil, fmt.Errorf("identity: unknown provider type %q", cfg.Type)
}
