package policy

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// ParseClientJWKS parses a client's key set (ParseClientKeySet) and
// requires at least one usable public signing key. The error reads as the
// end of a sentence about the jwks.
func ParseClientJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	ks, err := ParseClientKeySet(raw)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	if len(ks.Keys) == 0 {
		return jose.JSONWebKeySet{}, errors.New("holds no usable public signing key")
	}
	return jose.JSONWebKeySet{Keys: ks.Keys}, nil
}

// MaxClientKeys bounds the keys read from one set.
const MaxClientKeys = 64

// privateMembers are JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2 "d"; "priv" for
// ML-DSA). A client's published set must contain none (CIMD -02 §4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// ClientKeySet is a parsed client key set: the usable public signing keys, and
// why any others were skipped.
type ClientKeySet struct {
	Keys    []jose.JSONWebKey
	Skipped []string
}

// ParseClientKeySet parses a JWK Set one key at a time. go-jose refuses a
// whole set when one key has an unsupported type; RFC 7517 §5 says such
// keys SHOULD be ignored, so they are skipped and reported (the zitadel
// workaround). A key with private or symmetric material fails the whole
// set: publishing it is a client bug that must not be papered over.
// Keys meant for encryption ("use": "enc") are skipped.
func ParseClientKeySet(raw json.RawMessage) (*ClientKeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, errors.New(`must be a JSON object with a "keys" array`)
	}
	if set.Keys == nil {
		return nil, errors.New(`has no "keys" array`)
	}
	if len(set.Keys) > MaxClientKeys {
		return nil, fmt.Errorf("has %d keys; at most %d are read", len(set.Keys), MaxClientKeys)
	}
	ks := &ClientKeySet{}
	for i, rawKey := range set.Keys {
		key, skip, err := parseOneKey(rawKey)
		if err != nil {
			return nil, fmt.Errorf("key %d %s", i, err)
		}
		if skip != "" {
			ks.Skipped = append(ks.Skipped, fmt.Sprintf("key %d: %s", i, skip))
			continue
		}
		ks.Keys = append(ks.Keys, key)
	}
	return ks, nil
}

func parseOneKey(raw json.RawMessage) (key jose.JSONWebKey, skip string, err error) {
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return key, "", errors.New("is not a JSON object")
	}
	kid := jsonString(members["kid"])
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return key, "", fmt.Errorf("(kid %q) contains private or symmetric key material (%q); publish public keys only", kid, m)
		}
	}
	kty := jsonString(members["kty"])
	if kty == "oct" {
		return key, "", fmt.Errorf("(kid %q) is a symmetric key; only public keys may be published", kid)
	}
	if alg := jsonString(members["alg"]); strings.HasPrefix(alg, "HS") || alg == "none" {
		return key, "", fmt.Errorf("(kid %q) declares alg %q, which is not a public-key signature algorithm", kid, alg)
	}
	if err := key.UnmarshalJSON(raw); err != nil {
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return key, fmt.Sprintf("unsupported key type %q ignored (RFC 7517 §5)", kty), nil
		}
		return key, fmt.Sprintf("malformed %s key ignored (%v)", kty, err), nil
	}
	switch {
	case !key.IsPublic() || !key.Valid():
		return key, "", fmt.Errorf("(kid %q) is not a valid public key", kid)
	case isWeakRSA(key):
		return key, fmt.Sprintf("kid %q is an RSA key under %d bits; ignored", kid, minRSABits), nil
	case key.Use != "" && key.Use != "sig":
		return key, fmt.Sprintf("kid %q has use %q, not sig; ignored", kid, key.Use), nil
	}
	return key, "", nil
}

// minRSABits is the smallest RSA modulus accepted for client assertions.
const minRSABits = 2048

func isWeakRSA(k jose.JSONWebKey) bool {
	pub, ok := k.Key.(*rsa.PublicKey)
	return ok && pub.N.BitLen() < minRSABits
}

func jsonString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}
