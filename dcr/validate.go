package dcr

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Limits on registered metadata.
const (
	maxContacts    = 10
	maxScopeTokens = 50
)

// metadataFields lists the metadata members Gatehouse understands, with
// where each is decoded, in the order their problems are reported.
// Anything else is ignored (RFC 7591 §2).
var metadataFields = []struct {
	name   string
	target func(*oauth.ClientMetadata) any
}{
	{"redirect_uris", func(m *oauth.ClientMetadata) any { return &m.RedirectURIs }},
	{"token_endpoint_auth_method", func(m *oauth.ClientMetadata) any { return &m.TokenEndpointAuthMethod }},
	{"grant_types", func(m *oauth.ClientMetadata) any { return &m.GrantTypes }},
	{"response_types", func(m *oauth.ClientMetadata) any { return &m.ResponseTypes }},
	{"client_name", func(m *oauth.ClientMetadata) any { return &m.ClientName }},
	{"client_uri", func(m *oauth.ClientMetadata) any { return &m.ClientURI }},
	{"logo_uri", func(m *oauth.ClientMetadata) any { return &m.LogoURI }},
	{"scope", func(m *oauth.ClientMetadata) any { return &m.Scope }},
	{"contacts", func(m *oauth.ClientMetadata) any { return &m.Contacts }},
	{"tos_uri", func(m *oauth.ClientMetadata) any { return &m.TOSURI }},
	{"policy_uri", func(m *oauth.ClientMetadata) any { return &m.PolicyURI }},
	{"jwks_uri", func(m *oauth.ClientMetadata) any { return &m.JWKSURI }},
	{"jwks", nil}, // kept as raw JSON
	{"software_id", func(m *oauth.ClientMetadata) any { return &m.SoftwareID }},
	{"software_version", func(m *oauth.ClientMetadata) any { return &m.SoftwareVersion }},
	{"software_statement", func(m *oauth.ClientMetadata) any { return &m.SoftwareStatement }},
	{"application_type", func(m *oauth.ClientMetadata) any { return &m.ApplicationType }},
	{"token_endpoint_auth_signing_alg", func(m *oauth.ClientMetadata) any { return &m.TokenEndpointAuthSigningAlg }},
}

// decodeMembers splits a registration body into its members through the
// shared JSON gate (one object, valid UTF-8, bounded depth, no duplicate
// keys), in one pass. The members alias body.
func decodeMembers(body []byte) (map[string]json.RawMessage, error) {
	members, err := oauth.DecodeJSONObject(body)
	if err != nil {
		return nil, oauth.InvalidClientMetadata("the registration body %v", err)
	}
	return members, nil
}

// typedMetadata decodes the understood members one by one, so a type
// error names its field. JSON null counts as absent. The members passed
// the JSON gate already; each is a string or an array of strings, which
// encoding/json/v2 decodes without the reflection setup of encoding/json.
func typedMetadata(members map[string]json.RawMessage) (oauth.ClientMetadata, error) {
	var m oauth.ClientMetadata
	for _, f := range metadataFields {
		raw, ok := members[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if f.target == nil { // jwks
			if raw[0] != '{' {
				return m, oauth.InvalidClientMetadata("jwks must be a JSON object")
			}
			m.JWKS = append(json.RawMessage(nil), raw...)
			continue
		}
		target := f.target(&m)
		if err := jsonv2.Unmarshal(raw, target); err != nil {
			return m, oauth.InvalidClientMetadata("%s must be %s", f.name, kindOf(target))
		}
	}
	return m, nil
}

func kindOf(target any) string {
	if _, ok := target.(*[]string); ok {
		return "an array of strings"
	}
	return "a string"
}

// narrowings collects the values a registration had dropped
// (policy.Narrowing: the same rule as for metadata documents).
type narrowings []policy.Narrowing

func (ns *narrowings) add(n *policy.Narrowing) {
	if n != nil {
		*ns = append(*ns, *n)
	}
}

// normalize applies RFC 7591 defaults and Gatehouse's rules, in the order
// a client would want to hear about problems. The result is what gets
// registered and echoed back (RFC 7591 §3.2.1: the server may replace
// requested values), with the values it dropped.
func normalize(m oauth.ClientMetadata, maxRedirects int) (oauth.ClientMetadata, []policy.Narrowing, error) {
	var ns narrowings
	var n *policy.Narrowing
	m.ApplicationType, n = policy.NarrowApplicationType(m.ApplicationType)
	ns.add(n)
	if m.ApplicationType == "" {
		m.ApplicationType = oauth.ApplicationTypeWeb // OIDC Registration §2 default
	}
	if err := checkAuthMethod(&m); err != nil {
		return m, ns, err
	}
	if err := checkGrants(&m, &ns); err != nil {
		return m, ns, err
	}
	if err := checkRedirectURIs(&m, maxRedirects); err != nil {
		return m, ns, err
	}
	if err := checkKeys(&m); err != nil {
		return m, ns, err
	}
	return m, ns, checkDescriptive(&m, &ns)
}

func checkAuthMethod(m *oauth.ClientMetadata) error {
	switch m.TokenEndpointAuthMethod {
	case "":
		m.TokenEndpointAuthMethod = oauth.AuthMethodClientSecretBasic // RFC 7591 §2 default
	case oauth.AuthMethodNone, oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost, oauth.AuthMethodPrivateKeyJWT:
	default:
		return oauth.InvalidClientMetadata("token_endpoint_auth_method %q is not supported (none, client_secret_basic, client_secret_post, private_key_jwt)", clip(m.TokenEndpointAuthMethod))
	}
	if a := m.TokenEndpointAuthSigningAlg; a != "" && !policy.IsAssertionAlgorithm(a) {
		return oauth.InvalidClientMetadata("token_endpoint_auth_signing_alg %q is not an accepted asymmetric algorithm", clip(a))
	}
	return nil
}

// checkGrants applies the defaults (authorization_code, code), narrows
// unsupported grant and response types away (policy.NarrowGrantTypes,
// NarrowResponseTypes), and requires grant_types and response_types to
// agree (RFC 7591 §2.1).
func checkGrants(m *oauth.ClientMetadata, ns *narrowings) error {
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{oauth.GrantAuthorizationCode}
	}
	grants, n := policy.NarrowGrantTypes(m.GrantTypes)
	ns.add(n)
	if len(grants) == 0 {
		return oauth.InvalidClientMetadata("no supported grant type (authorization_code, refresh_token, client_credentials) in %s",
			clip(strings.Join(m.GrantTypes, ", ")))
	}
	m.GrantTypes = grants
	if slices.Contains(grants, oauth.GrantClientCredentials) && m.TokenEndpointAuthMethod == oauth.AuthMethodNone {
		return oauth.InvalidClientMetadata("client_credentials needs a confidential client, not token_endpoint_auth_method none")
	}
	code := slices.Contains(grants, oauth.GrantAuthorizationCode)
	if len(m.ResponseTypes) == 0 && code {
		m.ResponseTypes = []string{oauth.ResponseTypeCode}
	}
	listed := len(m.ResponseTypes) > 0
	m.ResponseTypes, n = policy.NarrowResponseTypes(m.ResponseTypes)
	ns.add(n)
	if code != (len(m.ResponseTypes) > 0) {
		if code && listed {
			return oauth.InvalidClientMetadata("response_types must include code for the authorization_code grant (RFC 7591 §2.1)")
		}
		return oauth.InvalidClientMetadata("grant_types and response_types disagree: authorization_code goes with response type code (RFC 7591 §2.1)")
	}
	return nil
}

// withoutClientCredentials drops client_credentials from a registration
// while the operator keeps the grant closed to registered clients. The
// server may replace requested metadata values (RFC 7591 §3.2.1), and the
// 201 response shows the client what it got; a registration that asked
// for nothing else usable is refused instead.
func withoutClientCredentials(m oauth.ClientMetadata) (oauth.ClientMetadata, error) {
	if !slices.Contains(m.GrantTypes, oauth.GrantClientCredentials) {
		return m, nil
	}
	if !slices.Contains(m.GrantTypes, oauth.GrantAuthorizationCode) {
		return m, oauth.InvalidClientMetadata("client_credentials is not open to registered clients on this server; ask the operator for a configured client")
	}
	m.GrantTypes = slices.DeleteFunc(slices.Clone(m.GrantTypes), func(g string) bool { return g == oauth.GrantClientCredentials })
	return m, nil
}

func checkRedirectURIs(m *oauth.ClientMetadata, max int) error {
	if len(m.RedirectURIs) > max {
		return oauth.InvalidRedirectURI("at most %d redirect URIs may be registered, got %d", max, len(m.RedirectURIs))
	}
	if slices.Contains(m.GrantTypes, oauth.GrantAuthorizationCode) && len(m.RedirectURIs) == 0 {
		return oauth.InvalidRedirectURI("redirect_uris is required for the authorization_code grant")
	}
	var uris []string
	for i, u := range m.RedirectURIs {
		if err := policy.CheckRegisteredRedirectURI(u); err != nil {
			return oauth.InvalidRedirectURI("redirect_uris[%d]: %v", i, err)
		}
		if !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	m.RedirectURIs = uris
	return nil
}

func checkKeys(m *oauth.ClientMetadata) error {
	if len(m.JWKS) > 0 && m.JWKSURI != "" {
		return oauth.InvalidClientMetadata("jwks and jwks_uri must not both be present (RFC 7591 §2)")
	}
	if m.TokenEndpointAuthMethod == oauth.AuthMethodPrivateKeyJWT && len(m.JWKS) == 0 && m.JWKSURI == "" {
		return oauth.InvalidClientMetadata("private_key_jwt needs jwks or jwks_uri")
	}
	if len(m.JWKS) > 0 {
		if _, err := policy.ParseClientJWKS(m.JWKS); err != nil {
			return oauth.InvalidClientMetadata("jwks %v", err)
		}
	}
	return nil
}

// checkDescriptive validates the display and URL fields. URLs must be
// https and absolute; they are not bound to the redirect hosts, because
// real clients host logos and policies elsewhere. An unusable descriptive
// URL (client_uri, logo_uri, tos_uri, policy_uri) is dropped, as from a
// metadata document (policy.NarrowMetadataURL); an unusable jwks_uri is
// refused: the client would not authenticate as its author intended.
func checkDescriptive(m *oauth.ClientMetadata, ns *narrowings) error {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"client_uri", &m.ClientURI}, {"logo_uri", &m.LogoURI}, {"tos_uri", &m.TOSURI}, {"policy_uri", &m.PolicyURI}} {
		var n *policy.Narrowing
		*f.dst, n = policy.NarrowMetadataURL(f.name, *f.dst)
		ns.add(n)
	}
	if m.JWKSURI != "" {
		if err := policy.CheckMetadataURL("jwks_uri", m.JWKSURI); err != nil {
			return oauth.InvalidClientMetadata("%v", err)
		}
	}
	if err := checkText("client_name", m.ClientName, policy.MaxClientNameRunes); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{{"software_id", m.SoftwareID}, {"software_version", m.SoftwareVersion}} {
		if err := checkText(f.name, f.value, policy.MaxShortFieldRunes); err != nil {
			return err
		}
	}
	if len(m.Contacts) > maxContacts {
		return oauth.InvalidClientMetadata("at most %d contacts", maxContacts)
	}
	for i, c := range m.Contacts {
		if err := checkText(fmt.Sprintf("contacts[%d]", i), c, policy.MaxContactRunes); err != nil {
			return err
		}
	}
	scopes := oauth.SplitScope(m.Scope)
	if len(scopes) > maxScopeTokens {
		return oauth.InvalidClientMetadata("at most %d scopes", maxScopeTokens)
	}
	for _, sc := range scopes {
		if strings.ContainsFunc(sc, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
			return oauth.InvalidClientMetadata("scope %q is not a valid scope token (RFC 6749 §3.3)", clip(sc))
		}
	}
	m.Scope = oauth.JoinScope(scopes)
	return nil
}

// checkText applies the one display-text rule that metadata documents
// follow too (policy.CheckDisplayText).
func checkText(field, s string, max int) error {
	if err := policy.CheckDisplayText(field, s, max); err != nil {
		return oauth.InvalidClientMetadata("%v", err)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
