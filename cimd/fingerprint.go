package cimd

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Fingerprint identifies the security-relevant part of a client's metadata
// (CIMD -02 §8.4: redirect_uris, token_endpoint_auth_method, grant_types,
// scope, jwks, jwks_uri, client_name, logo_uri). Consent is keyed on it
// (decision §6.7): when any of these change, the user is asked again.
//
// The encoding is canonical: a versioned JSON object with a fixed member
// order, sets sorted (reordering redirect URIs or scopes is not a change),
// and keys reduced to their RFC 7638 thumbprints plus kid, alg and use.
// The result is the lowercase hex SHA-256 of that encoding.
func Fingerprint(clientID string, md *oauth.ClientMetadata, keys *KeySet) string {
	in := struct {
		Version      int      `json:"v"`
		ClientID     string   `json:"client_id"`
		RedirectURIs []string `json:"redirect_uris"`
		AuthMethod   string   `json:"token_endpoint_auth_method"`
		GrantTypes   []string `json:"grant_types"`
		Scope        []string `json:"scope"`
		JWKS         []string `json:"jwks"`
		JWKSURI      string   `json:"jwks_uri"`
		ClientName   string   `json:"client_name"`
		LogoURI      string   `json:"logo_uri"`
	}{
		Version:      1,
		ClientID:     clientID,
		RedirectURIs: sorted(md.RedirectURIs),
		AuthMethod:   md.TokenEndpointAuthMethod,
		GrantTypes:   sorted(md.GrantTypes),
		Scope:        sorted(oauth.SplitScope(md.Scope)),
		JWKS:         keyIdentities(keys),
		JWKSURI:      md.JWKSURI,
		ClientName:   md.ClientName,
		LogoURI:      md.LogoURI,
	}
	b, _ := json.Marshal(in) // strings and string slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func keyIdentities(keys *KeySet) []string {
	if keys == nil {
		return nil
	}
	var ids []string
	for _, k := range keys.Keys {
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			continue // cannot happen for keys that parsed as public keys
		}
		ids = append(ids, base64.RawURLEncoding.EncodeToString(tp)+"|"+k.KeyID+"|"+k.Algorithm+"|"+k.Use)
	}
	slices.Sort(ids)
	return ids
}
