package oauth

// Grant types (RFC 6749 §4, RFC 7523 §2.1, RFC 8628 §3.4).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantImplicit          = "implicit"
	GrantPassword          = "password"
)

// Response types (RFC 6749 §3.1.1). Gatehouse supports only "code": the
// implicit grant is removed by OAuth 2.1 §10.1.
const ResponseTypeCode = "code"

// Client authentication methods at the token endpoint (RFC 7591 §2,
// RFC 7523 §2.2, OIDC Core §9).
const (
	AuthMethodNone              = "none"
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodClientSecretJWT   = "client_secret_jwt"
	AuthMethodPrivateKeyJWT     = "private_key_jwt"
)

// ClientAssertionTypeJWTBearer is the client_assertion_type of RFC 7523 §2.2.
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// PKCE code challenge methods (RFC 7636 §4.2). Gatehouse accepts S256 only.
const (
	PKCEMethodS256  = "S256"
	PKCEMethodPlain = "plain"
)

// Token type hints (RFC 7009 §2.1) and the token type of issued tokens.
const (
	TokenTypeHintAccessToken  = "access_token"
	TokenTypeHintRefreshToken = "refresh_token"
	TokenTypeBearer           = "Bearer"
)

// Prompt values (OIDC Core §3.1.2.1) understood at /authorize.
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
)

// ScopeOfflineAccess asks for a refresh token (MCP 2026-07-28).
const ScopeOfflineAccess = "offline_access"

// AccessTokenJWTType is the JOSE "typ" header of RFC 9068 access tokens.
const AccessTokenJWTType = "at+jwt"

// Application types (OIDC Dynamic Client Registration §2).
const (
	ApplicationTypeWeb    = "web"
	ApplicationTypeNative = "native"
)
