package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint hashes the security-relevant client metadata listed by
// CIMD -02 §8.4: redirect URIs, authentication method, keys, grant types,
// scope, name and logo. Consent given under one fingerprint is asked for
// again when it changes, whatever kind of client it is.
func Fingerprint(m ClientMetadata) string {
	relevant := struct {
		RedirectURIs []string        `json:"r"`
		AuthMethod   string          `json:"a"`
		GrantTypes   []string        `json:"g"`
		Scope        string          `json:"s"`
		JWKS         json.RawMessage `json:"k,omitempty"`
		JWKSURI      string          `json:"u"`
		Name         string          `json:"n"`
		Logo         string          `json:"l"`
	}{m.RedirectURIs, m.TokenEndpointAuthMethod, m.GrantTypes, m.Scope, compactJSON(m.JWKS), m.JWKSURI, m.ClientName, m.LogoURI}
	b, _ := json.Marshal(relevant)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compactJSON removes insignificant whitespace so that reformatting a JWKS
// does not change the fingerprint.
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	out, _ := json.Marshal(v) // map keys sorted, whitespace gone
	return out
}

// SecurityMetadata is the part of a client's metadata that Fingerprint
// covers, kept with a consent so that a later change can be told to the
// user ("a redirect URI was added: ..."), not only detected. Keys are
// kept as a digest: whether they changed is what matters.
type SecurityMetadata struct {
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	AuthMethod   string   `json:"auth_method,omitempty"`
	GrantTypes   []string `json:"grant_types,omitempty"`
	Scope        string   `json:"scope,omitempty"`
	KeysDigest   string   `json:"keys_digest,omitempty"`
	JWKSURI      string   `json:"jwks_uri,omitempty"`
	Name         string   `json:"name,omitempty"`
	Logo         string   `json:"logo,omitempty"`
}

// SecurityMetadataOf extracts m's security-relevant metadata.
func SecurityMetadataOf(m ClientMetadata) SecurityMetadata {
	var keys string
	if k := compactJSON(m.JWKS); len(k) > 0 {
		sum := sha256.Sum256(k)
		keys = hex.EncodeToString(sum[:8])
	}
	return SecurityMetadata{RedirectURIs: m.RedirectURIs, AuthMethod: m.TokenEndpointAuthMethod, GrantTypes: m.GrantTypes,
		Scope: m.Scope, KeysDigest: keys, JWKSURI: m.JWKSURI, Name: m.ClientName, Logo: m.LogoURI}
}
