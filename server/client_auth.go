package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// presentedAuth is how a request tried to authenticate its client.
type presentedAuth struct {
	method    string // an oauth.AuthMethod* value
	clientID  string
	secret    string
	assertion string
}

// readClientAuth works out the client authentication a token, revocation
// or introspection request presents, refusing requests that use more than
// one method (RFC 6749 §2.3: "The client MUST NOT use more than one
// authentication method in each request").
func readClientAuth(c echo.Context, form url.Values) (presentedAuth, error) {
	var methods []presentedAuth
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		id, secret, err := parseBasic(h)
		if err != nil {
			return presentedAuth{}, err
		}
		methods = append(methods, presentedAuth{method: oauth.AuthMethodClientSecretBasic, clientID: id, secret: secret})
	}
	if form.Has("client_secret") {
		methods = append(methods, presentedAuth{method: oauth.AuthMethodClientSecretPost, clientID: form.Get("client_id"), secret: form.Get("client_secret")})
	}
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		if form.Get("client_assertion_type") != oauth.ClientAssertionTypeJWTBearer {
			return presentedAuth{}, oauth.InvalidClient("client_assertion_type must be %s", oauth.ClientAssertionTypeJWTBearer)
		}
		id := form.Get("client_id")
		if id == "" {
			// RFC 7523 §3: client_id may be omitted; sub names the client.
			// The claim is read unverified here only to find the client;
			// verification then requires iss = sub = that client.
			id = assertionSubject(form.Get("client_assertion"))
		}
		methods = append(methods, presentedAuth{method: oauth.AuthMethodPrivateKeyJWT, clientID: id, assertion: form.Get("client_assertion")})
	}
	switch len(methods) {
	case 0:
		if form.Get("client_id") == "" {
			return presentedAuth{}, oauth.InvalidClient("no client authentication: send client_id (public clients) or credentials")
		}
		return presentedAuth{method: oauth.AuthMethodNone, clientID: form.Get("client_id")}, nil
	case 1:
		m := methods[0]
		// A client_id in the body must name the same client.
		if body := form.Get("client_id"); body != "" && m.clientID != "" && body != m.clientID {
			return presentedAuth{}, oauth.InvalidClient("client_id in the body does not match the authenticated client")
		}
		return m, nil
	}
	return presentedAuth{}, oauth.InvalidRequest("more than one client authentication method used (RFC 6749 §2.3)")
}

// assertionSubject is the unverified sub claim of a client assertion.
func assertionSubject(assertion string) string {
	tok, err := jwt.ParseSigned(assertion, assertionAlgorithms)
	if err != nil {
		return ""
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return ""
	}
	return claims.Subject
}

// parseBasic decodes HTTP Basic credentials. RFC 6749 §2.3.1: the client
// ID and secret are form-urlencoded before base64, so an https client ID
// arrives as https%3A%2F%2F... (x/oauth2 sends it that way).
func parseBasic(h string) (id, secret string, err error) {
	scheme, payload, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", oauth.InvalidClient("unsupported Authorization scheme; use Basic for client credentials")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", oauth.InvalidClient("malformed Basic credentials")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", oauth.InvalidClient("malformed Basic credentials")
	}
	if id, err = url.QueryUnescape(user); err != nil {
		return "", "", oauth.InvalidClient("malformed client_id in Basic credentials")
	}
	if secret, err = url.QueryUnescape(pass); err != nil {
		return "", "", oauth.InvalidClient("malformed client_secret in Basic credentials")
	}
	return id, secret, nil
}

// authenticateClient resolves and authenticates the client of a token,
// revocation or introspection request. It never touches codes or tokens,
// so a failed authentication consumes nothing (x/oauth2 probes with an
// empty Basic password first, then retries in the body).
func (s *Server) authenticateClient(c echo.Context, form url.Values, endpoint string) (*oauth.Client, error) {
	p, err := readClientAuth(c, form)
	if err != nil {
		return nil, s.basicChallenge(c, err)
	}
	ctx := c.Request().Context()
	client, err := s.policy().clients.ResolveClient(ctx, p.clientID)
	if err != nil {
		s.auditResolveFailure(ctx, requestLogger(c, s.log), p.clientID, err)
		return nil, s.basicChallenge(c, err)
	}
	if want := client.AuthMethod(); want != p.method {
		return nil, s.basicChallenge(c, oauth.InvalidClient(
			"client is registered for token_endpoint_auth_method %q but authenticated with %q", want, p.method))
	}
	switch p.method {
	case oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost:
		if err := s.checkSecret(client, p.secret); err != nil {
			return nil, s.basicChallenge(c, err)
		}
	case oauth.AuthMethodPrivateKeyJWT:
		if err := s.verifyClientAssertion(ctx, client, p.assertion, endpoint); err != nil {
			return nil, err
		}
	}
	return client, nil
}

// checkSecret compares SHA-256 digests in constant time. Client secrets
// are high-entropy, so a fast hash suffices (research/performance.md).
func (s *Server) checkSecret(client *oauth.Client, secret string) error {
	if len(client.SecretHash) == 0 || secret == "" {
		return oauth.InvalidClient("client authentication failed")
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], client.SecretHash) != 1 {
		return oauth.InvalidClient("client authentication failed")
	}
	if !client.SecretExpiresAt.IsZero() && !s.now().Before(client.SecretExpiresAt) {
		return oauth.InvalidClient("client secret has expired")
	}
	return nil
}

// basicChallenge adds WWW-Authenticate to an invalid_client answer when
// the client tried HTTP Basic (RFC 6749 §5.2).
func (s *Server) basicChallenge(c echo.Context, err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Code == oauth.ErrCodeInvalidClient && c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
	}
	return err
}
