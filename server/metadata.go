package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Well-known suffixes of RFC 8414 §3 and OpenID Connect Discovery §4.
const (
	wellKnownOAuth = "/.well-known/oauth-authorization-server"
	wellKnownOIDC  = "/.well-known/openid-configuration"
)

// Metadata is the authorization server metadata document (RFC 8414 §2).
// Every field states what the server really does; a capability is listed
// only once its endpoint exists.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint,omitempty"`
	JWKSURI                           string   `json:"jwks_uri"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethods  []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	// RFC 9207 §3: set only because every authorization response carries iss.
	AuthorizationResponseISSSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// CIMD -02 §6.
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported,omitempty"`
	PromptValuesSupported             []string `json:"prompt_values_supported,omitempty"`
	ServiceDocumentation              string   `json:"service_documentation,omitempty"`
	// OpenID Connect Discovery §3.
	UserinfoEndpoint             string   `json:"userinfo_endpoint,omitempty"`
	SubjectTypesSupported        []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgs           []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ClaimsSupported              []string `json:"claims_supported,omitempty"`
	ClaimsParameterSupported     bool     `json:"claims_parameter_supported"`
	RequestParameterSupported    bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported bool     `json:"request_uri_parameter_supported"`
	// draft-ietf-oauth-identity-assertion-authz-grant §7.2.
	AuthorizationGrantProfilesSupported []string `json:"authorization_grant_profiles_supported,omitempty"`
}

type metadataDoc struct {
	json []byte
	etag string
}

// buildMetadata describes the server under policy p. It is encoded once
// per policy: discovery is the hottest public endpoint and changes only
// when the policy is reloaded.
func (s *Server) buildMetadata(p *policyState) *metadataDoc {
	authMethods := []string{oauth.AuthMethodNone, oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost, oauth.AuthMethodPrivateKeyJWT}
	var algs []string
	for _, a := range assertionAlgorithms {
		algs = append(algs, string(a))
	}
	md := Metadata{
		Issuer:                            s.cfg.Issuer,
		AuthorizationEndpoint:             s.url(authorizePath),
		TokenEndpoint:                     s.url(tokenPath),
		JWKSURI:                           s.url(jwksPath),
		ScopesSupported:                   p.resources.ScopesSupported(),
		ResponseTypesSupported:            []string{oauth.ResponseTypeCode},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials},
		TokenEndpointAuthMethodsSupported: authMethods,
		TokenEndpointAuthSigningAlgs:      algs,
		RevocationEndpoint:                s.url(revokePath),
		RevocationEndpointAuthMethods:     authMethods,
		IntrospectionEndpoint:             s.url(introspectPath),
		IntrospectionEndpointAuthMethods:  authMethods[1:], // confidential clients only
		CodeChallengeMethodsSupported:     []string{oauth.PKCEMethodS256},
		AuthorizationResponseISSSupported: true,
		PromptValuesSupported:             []string{oauth.PromptNone, oauth.PromptLogin, oauth.PromptConsent},
	}
	// CIMD -02 §6: advertised whenever URL client IDs are accepted, also
	// when only some hosts are (allowlist-only mode).
	md.ClientIDMetadataDocumentSupported = p.cimd
	s.oidcDiscovery(&md)
	if len(s.cfg.IdentityAssertions) > 0 {
		md.GrantTypesSupported = append(md.GrantTypesSupported, oauth.GrantJWTBearer)
		md.AuthorizationGrantProfilesSupported = []string{IDJAGGrantProfile}
	}
	if s.registration != nil && s.registration.Config().Mode != dcr.ModeClosed {
		md.RegistrationEndpoint = s.url(registerPath)
	}
	body, err := json.Marshal(md)
	if err != nil {
		panic(err) // a fixed struct of strings always encodes
	}
	sum := sha256.Sum256(body)
	return &metadataDoc{json: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// metadataPaths lists where the document is served. With an issuer path
// (https://example.com/tenant), RFC 8414 §3.1 inserts the well-known suffix
// before the path (/.well-known/oauth-authorization-server/tenant); OIDC
// Discovery appends it (/tenant/.well-known/openid-configuration). MCP
// clients try all three (MCP 2025-11-25 §4.3).
func (s *Server) metadataPaths() []string {
	if s.base == "" {
		return []string{wellKnownOAuth, wellKnownOIDC}
	}
	return []string{wellKnownOAuth + s.base, wellKnownOIDC + s.base, s.base + wellKnownOIDC}
}

// handleMetadata serves the discovery document: public, cacheable for an
// hour, readable cross-origin.
func (s *Server) handleMetadata(c echo.Context) error {
	doc := s.policy().metadata
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", doc.etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, doc.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc.json)
}
