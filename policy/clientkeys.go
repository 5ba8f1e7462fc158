package policy

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// AssertionAlgorithms are the JWS algorithms accepted for client
// assertions and software statements. Asymmetric only: a client's public
// key must never double as an HMAC secret (RFC 8725 §3.1).
var AssertionAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

// IsAssertionAlgorithm reports whether alg is in AssertionAlgorithms.
func IsAssertionAlgorithm(alg string) bool {
	for _, a := range AssertionAlgorithms {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// ParseClientJWKS parses a client's JWK Set one key at a time: keys of
// types go-jose does not support are skipped (one unsupported key must not
// void the set, as json.Unmarshal into JSONWebKeySet would), and private or
// symmetric keys are refused. At least one usable public key must remain.
// The error reads as the end of a sentence about the jwks.
func ParseClientJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || set.Keys == nil {
		return jose.JSONWebKeySet{}, errors.New("is not a JSON Web Key Set (an object with a keys array)")
	}
	var out jose.JSONWebKeySet
	for i, rawKey := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rawKey); err != nil {
			if errors.Is(err, jose.ErrUnsupportedKeyType) {
				continue
			}
			return jose.JSONWebKeySet{}, fmt.Errorf("key %d is invalid: %v", i, err)
		}
		if !k.IsPublic() {
			return jose.JSONWebKeySet{}, fmt.Errorf("key %d is private or symmetric: publish public keys only", i)
		}
		out.Keys = append(out.Keys, k)
	}
	if len(out.Keys) == 0 {
		return out, errors.New("holds no usable public key")
	}
	return out, nil
}
