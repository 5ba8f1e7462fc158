package oauth

import (
	"encoding/json"
	"testing"
)

func TestApprovalFingerprint(t *testing.T) {
	base := ClientMetadata{RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1/cb"}, ClientName: "A",
		JWKSURI: "https://a.example/jwks.json", TokenEndpointAuthMethod: AuthMethodPrivateKeyJWT}
	fp := ApprovalFingerprint(base)
	same := func(name string, m ClientMetadata) {
		if ApprovalFingerprint(m) != fp {
			t.Errorf("%s changed the approval fingerprint", name)
		}
	}
	differs := func(name string, m ClientMetadata) {
		if ApprovalFingerprint(m) == fp {
			t.Errorf("%s did not change the approval fingerprint", name)
		}
	}
	m := base
	m.RedirectURIs = []string{"http://127.0.0.1/cb", "https://a.example/cb", "https://a.example/cb"}
	same("reordering and repeating redirect_uris", m)
	m = base
	m.ClientName, m.LogoURI, m.Scope = "B", "https://a.example/logo.png", "x y"
	same("a new name, logo and scope", m)
	m = base
	m.RedirectURIs = append([]string{"https://evil.example/cb"}, base.RedirectURIs...)
	differs("an added redirect_uri", m)
	m = base
	m.JWKSURI = "https://a.example/other-jwks.json"
	differs("another jwks_uri", m)
	m = base
	m.TokenEndpointAuthMethod = AuthMethodNone
	differs("another auth method", m)
	m = base
	m.JWKS = json.RawMessage(`{"keys":[{"kty":"EC"}]}`)
	differs("inline keys", m)
	k1, k2 := base, base
	k1.JWKS, k2.JWKS = json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256"}]}`), json.RawMessage("{ \"keys\" : [ {\"crv\":\"P-256\", \"kty\":\"EC\"} ] }")
	if ApprovalFingerprint(k1) != ApprovalFingerprint(k2) {
		t.Error("reformatting the jwks changed the approval fingerprint")
	}
	if ApprovalFingerprint(ClientMetadata{}) != ApprovalFingerprint(ClientMetadata{TokenEndpointAuthMethod: AuthMethodNone}) {
		t.Error("the default auth method is none")
	}
}
