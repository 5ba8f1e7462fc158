package cimd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// checkAuthMethod: a missing method means "none" (decision §6.3; RFC
// 7591's default, client_secret_basic, cannot apply to a public document).
// Shared-secret methods are forbidden (CIMD -02 §4.1); Gatehouse supports
// none and private_key_jwt.
func (v *docValidator) checkAuthMethod() {
	const rule = "auth-method"
	m, ok := v.stringField(rule, specAuth, "token_endpoint_auth_method", true)
	if !ok {
		if !v.failed(rule) {
			v.md.TokenEndpointAuthMethod = oauth.AuthMethodNone
			v.findings.narrow(rule, "Gatehouse §6.3", "token_endpoint_auth_method is absent: treated as none (public client)")
		}
		return
	}
	switch m {
	case oauth.AuthMethodNone:
		v.findings.pass(rule, specAuth, "none (public client)")
	case oauth.AuthMethodPrivateKeyJWT:
		v.findings.pass(rule, specAuth, "private_key_jwt: the client must authenticate with a key from its document")
	case oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost, oauth.AuthMethodClientSecretJWT:
		v.findings.fail(rule, specForbidden, fmt.Sprintf(
			"token_endpoint_auth_method %q uses a shared secret, which a public document cannot carry; use none or private_key_jwt", m))
		return
	default:
		v.findings.fail(rule, specAuth, fmt.Sprintf(
			"token_endpoint_auth_method %q is not supported (use none or private_key_jwt)", m))
		return
	}
	v.md.TokenEndpointAuthMethod = m
}

func (v *docValidator) privateKeyJWT() bool {
	return v.md.TokenEndpointAuthMethod == oauth.AuthMethodPrivateKeyJWT
}

// checkKeys: jwks xor jwks_uri (RFC 7591 §2); inline keys parsed one by
// one, public keys only (CIMD -02 §4.1); private_key_jwt needs one of them
// (CIMD -02 §8.2).
func (v *docValidator) checkKeys() {
	rawJWKS, hasJWKS := v.field("jwks")
	uri, hasURI := v.stringField("jwks-uri", specRFC7591, "jwks_uri", v.privateKeyJWT())
	if hasJWKS && hasURI {
		v.findings.fail("jwks", specRFC7591, "jwks and jwks_uri must not both be present")
		return
	}
	if hasJWKS {
		v.checkInlineJWKS(rawJWKS)
	}
	if hasURI {
		v.checkJWKSURI(uri)
	}
	if v.privateKeyJWT() && !hasJWKS && !hasURI && !v.failed("jwks-uri") {
		v.findings.fail("jwks", specAuth, "private_key_jwt requires jwks or jwks_uri with the client's public keys")
	}
}

func (v *docValidator) checkInlineJWKS(raw json.RawMessage) {
	ks, err := policy.ParseClientKeySet(raw)
	if err != nil {
		v.findings.fail("jwks", specPrivateKey, "jwks "+err.Error())
		return
	}
	for _, s := range ks.Skipped {
		v.findings.narrow("jwks", specJWK, "jwks "+s)
	}
	if len(ks.Keys) == 0 {
		if v.privateKeyJWT() {
			v.findings.fail("jwks", specAuth, "jwks has no usable public signing key")
		}
		return
	}
	canonical, err := json.Marshal(jose.JSONWebKeySet{Keys: ks.Keys})
	if err != nil {
		v.findings.fail("jwks", specJWK, "jwks cannot be re-encoded")
		return
	}
	v.keys = ks
	v.md.JWKS = canonical
	v.findings.pass("jwks", specPrivateKey, fmt.Sprintf("%d public signing key(s), no private key material", len(ks.Keys)))
}

func (v *docValidator) checkJWKSURI(uri string) {
	if err := policy.CheckMetadataURL("jwks_uri", uri); err != nil {
		if v.privateKeyJWT() {
			v.findings.fail("jwks-uri", specSSRF, err.Error()+"; a private_key_jwt client needs it")
		} else {
			v.findings.narrow("jwks-uri", specSSRF, err.Error()+"; dropped")
		}
		return
	}
	v.md.JWKSURI = uri
	v.findings.pass("jwks-uri", specSSRF, "jwks_uri is https; keys are fetched through the SSRF-safe fetcher")
}

// asymmetricAlgs are the JWS algorithms a private_key_jwt assertion may use.
var asymmetricAlgs = []string{
	string(jose.RS256), string(jose.RS384), string(jose.RS512),
	string(jose.PS256), string(jose.PS384), string(jose.PS512),
	string(jose.ES256), string(jose.ES384), string(jose.ES512), string(jose.EdDSA),
}

// checkSigningAlg: token_endpoint_auth_signing_alg must be a public-key
// algorithm; HS* would need a shared secret.
func (v *docValidator) checkSigningAlg() {
	const rule = "signing-alg"
	alg, ok := v.stringField(rule, specAuth, "token_endpoint_auth_signing_alg", false)
	if !ok {
		return
	}
	switch {
	case slices.Contains(asymmetricAlgs, alg):
		v.md.TokenEndpointAuthSigningAlg = alg
		if v.privateKeyJWT() {
			v.findings.pass(rule, specAuth, "client assertions are signed with "+alg)
		}
	case strings.HasPrefix(alg, "HS") || alg == "none":
		if v.privateKeyJWT() {
			v.findings.fail(rule, specAuth, fmt.Sprintf(
				"token_endpoint_auth_signing_alg %q is not a public-key algorithm", alg))
			return
		}
		v.findings.narrow(rule, specAuth, fmt.Sprintf("token_endpoint_auth_signing_alg %q dropped", alg))
	default:
		v.findings.narrow(rule, specAuth, fmt.Sprintf(
			"token_endpoint_auth_signing_alg %q is not supported; dropped (any supported algorithm matching the key is accepted)", alg))
	}
}
