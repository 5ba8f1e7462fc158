package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// ApprovalFingerprint identifies what an administrator's approval of a
// client covers: where its authorization responses may go (redirect_uris,
// as a set) and how it proves who it is (token_endpoint_auth_method,
// jwks_uri and the inline jwks, whitespace-insensitive). An approval is
// tied to it: a client whose document or registration changes any of
// these is back in the approval queue. Its name, logo and scope are left
// out on purpose: consent covers those (Fingerprint), and a new logo
// should not make users wait for an administrator again.
//
// The result is the lowercase hex SHA-256 of a versioned canonical JSON
// encoding.
func ApprovalFingerprint(m ClientMetadata) string {
	redirects := slices.Clone(m.RedirectURIs)
	slices.Sort(redirects)
	method := m.TokenEndpointAuthMethod
	if method == "" {
		method = AuthMethodNone
	}
	in := struct {
		Version      int             `json:"v"`
		RedirectURIs []string        `json:"redirect_uris"`
		AuthMethod   string          `json:"token_endpoint_auth_method"`
		JWKSURI      string          `json:"jwks_uri"`
		JWKS         json.RawMessage `json:"jwks,omitempty"`
	}{1, slices.Compact(redirects), method, m.JWKSURI, compactJSON(m.JWKS)}
	b, _ := json.Marshal(in) // strings and valid JSON: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
