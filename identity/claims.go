package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ClaimMapping names the upstream claims that fill an Identity (the
// claims.* keys of an oidc provider). Empty fields take the OIDC Core §5.1
// standard names.
type ClaimMapping struct {
	Username string // default preferred_username
	Email    string // default email
	Name     string // default name
	Groups   string // default groups
}

func (m ClaimMapping) withDefaults() ClaimMapping {
	if m.Username == "" {
		m.Username = "preferred_username"
	}
	if m.Email == "" {
		m.Email = "email"
	}
	if m.Name == "" {
		m.Name = "name"
	}
	if m.Groups == "" {
		m.Groups = "groups"
	}
	return m
}

// Limits on what one identity may carry: claims come from the upstream and
// end up in the store, pages and access tokens.
const (
	maxClaimLen  = 256
	maxGroups    = 200
	maxClaimsRaw = 64 << 10
)

// MapClaims reads the claims object of an ID token or userinfo answer into
// an Identity through the mapping. sub is required; strings longer than
// 256 bytes or not UTF-8 are refused; groups may be a string or a list of
// strings (Okta and Keycloak send lists, some send one string), at most
// 200. email_verified may be a boolean or the string "true" (some
// providers send strings). Every error names the claim.
func MapClaims(raw []byte, m ClaimMapping) (Identity, error) {
	var id Identity
	if len(raw) > maxClaimsRaw {
		return id, fmt.Errorf("claims: %d bytes is more than %d", len(raw), maxClaimsRaw)
	}
	var claims map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return id, fmt.Errorf("claims: not a JSON object")
	}
	m = m.withDefaults()
	var err error
	if id.Subject, err = stringClaim(claims, "sub"); err != nil {
		return id, err
	}
	if id.Subject == "" {
		return id, fmt.Errorf("claims: sub is missing")
	}
	if id.Username, err = stringClaim(claims, m.Username); err != nil {
		return id, err
	}
	if id.Email, err = stringClaim(claims, m.Email); err != nil {
		return id, err
	}
	if id.Name, err = stringClaim(claims, m.Name); err != nil {
		return id, err
	}
	if id.Groups, err = groupsClaim(claims, m.Groups); err != nil {
		return id, err
	}
	if id.EmailVerified, err = boolClaim(claims, "email_verified"); err != nil {
		return id, err
	}
	if id.ACR, err = stringClaim(claims, "acr"); err != nil {
		return id, err
	}
	if rawAMR, ok := claims["amr"]; ok {
		if id.AMR, err = stringList(rawAMR, "amr"); err != nil {
			return id, err
		}
	}
	return id, nil
}

// stringClaim reads a string claim; absent or null is "".
func stringClaim(claims map[string]json.RawMessage, name string) (string, error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("claims: %s is not a string", name)
	}
	return checkClaimString(name, s)
}

func checkClaimString(name, s string) (string, error) {
	switch {
	case len(s) > maxClaimLen:
		return "", fmt.Errorf("claims: %s is longer than %d bytes", name, maxClaimLen)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("claims: %s is not UTF-8", name)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("claims: %s holds control characters", name)
	}
	return s, nil
}

func boolClaim(claims map[string]json.RawMessage, name string) (bool, error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "true" || s == "false") {
		return s == "true", nil
	}
	return false, fmt.Errorf("claims: %s is not a boolean", name)
}

func groupsClaim(claims map[string]json.RawMessage, name string) ([]string, error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		s, err := checkClaimString(name, one)
		if err != nil || s == "" {
			return nil, err
		}
		return []string{s}, nil
	}
	return stringList(raw, name)
}

func stringList(raw json.RawMessage, name string) ([]string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("claims: %s is not a string or a list of strings", name)
	}
	if len(list) > maxGroups {
		return nil, fmt.Errorf("claims: %s has more than %d entries", name, maxGroups)
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		s, err := checkClaimString(name, s)
		if err != nil {
			return nil, err
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
