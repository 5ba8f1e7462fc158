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
