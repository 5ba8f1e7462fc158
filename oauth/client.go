package oauth

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// ClientMetadata is the client metadata of RFC 7591 §2 (plus the OIDC
// Dynamic Registration fields real MCP clients send). The same structure
// describes an operator-configured client, a DCR registration and a Client
// ID Metadata Document; unknown fields are ignored when it is decoded
// (RFC 7591 §2: "the authorization server MUST ignore any client metadata
// sent by the client that it does not understand").
type ClientMetadata struct {
	RedirectURIs            []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	ResponseTypes           []string        `json:"response_types,omitempty"`
	ClientName              string          `json:"client_name,omitempty"`
	ClientURI               string          `json:"client_uri,omitempty"`
	LogoURI                 string          `json:"logo_uri,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
	Contacts                []string        `json:"contacts,omitempty"`
	TOSURI                  string          `json:"tos_uri,omitempty"`
	PolicyURI               string          `json:"policy_uri,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	SoftwareID              string          `json:"software_id,omitempty"`
	SoftwareVersion         string          `json:"software_version,omitempty"`
	SoftwareStatement       string          `json:"software_statement,omitempty"`
	ApplicationType         string          `json:"application_type,omitempty"`
	// TokenEndpointAuthSigningAlg is the JWS algorithm a private_key_jwt
	// client signs its assertions with (OIDC Registration §2).
	TokenEndpointAuthSigningAlg string `json:"token_endpoint_auth_signing_alg,omitempty"`
}

// ClientKind says where a client's registration comes from.
type ClientKind string

const (
	// ClientStatic is configured by the operator in the config file.
	ClientStatic ClientKind = "static"
	// ClientDCR registered itself at /register (RFC 7591).
	ClientDCR ClientKind = "dcr"
	// ClientCIMD is an https client_id resolved from its metadata document.
	ClientCIMD ClientKind = "cimd"
)

// Client is a resolved client: its identifier, its metadata with defaults
// applied, and what Gatehouse needs to authenticate it. Values of this type
// are shared read-only between requests (CIMD clients live in a cache), so
// nothing may modify a Client after it is built.
type Client struct {
	ID       string
	Kind     ClientKind
	Metadata ClientMetadata
	// SecretHash is the SHA-256 of the client secret for the
	// client_secret_basic and client_secret_post methods, nil otherwise.
	SecretHash []byte
	// SecretExpiresAt is when the secret stops working; zero means never.
	SecretExpiresAt time.Time
	// MayIntrospect marks an operator-configured client (a resource
	// server, a gateway) that may introspect every token Gatehouse issues
	// and learn the user's login name (RFC 7662 §4: the server decides who
	// may ask). Other clients may introspect only their own tokens. Never
	// set from self-asserted metadata.
	MayIntrospect bool
	// VerifiedSoftwareID is a registered client's software_id as asserted
	// by a software statement Gatehouse verified (RFC 7591 §2.3); "" when
	// none was. Client profiles match software_ids on it, never on the
	// self-asserted Metadata.SoftwareID.
	VerifiedSoftwareID string
	// Fingerprint identifies the security-relevant metadata (redirect URIs,
	// auth method, keys, grant types, scope, name, logo); consent given
	// under one fingerprint is not reused under another (CIMD -02 §8.4).
	Fingerprint string
}

// AuthMethod is the client's token endpoint authentication method.
func (c *Client) AuthMethod() string {
	if c.Metadata.TokenEndpointAuthMethod == "" {
		return AuthMethodNone
	}
	return c.Metadata.TokenEndpointAuthMethod
}

// IsPublic reports whether the client has no credentials (method "none").
func (c *Client) IsPublic() bool { return c.AuthMethod() == AuthMethodNone }

// AllowsGrant reports whether the client registered the grant type. An empty
// list means RFC 7591's default, authorization_code.
func (c *Client) AllowsGrant(grantType string) bool {
	if len(c.Metadata.GrantTypes) == 0 {
		return grantType == GrantAuthorizationCode
	}
	return slices.Contains(c.Metadata.GrantTypes, grantType)
}

// DisplayName is the client's self-asserted name, or its ID without one.
func (c *Client) DisplayName() string {
	if c.Metadata.ClientName != "" {
		return c.Metadata.ClientName
	}
	return c.ID
}

// ScopeList splits the registered scope string; nil means "no restriction".
func (c *Client) ScopeList() []string { return SplitScope(c.Metadata.Scope) }

// SplitScope splits a space-delimited scope string (RFC 6749 §3.3),
// dropping empty entries and duplicates while keeping the order.
func SplitScope(s string) []string {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil
	}
	out := fields[:0]
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// JoinScope joins scope tokens with single spaces.
func JoinScope(scopes []string) string { return strings.Join(scopes, " ") }
