package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

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
	// emptySecret: the client sent a secret, empty (Basic "id:" or
	// client_secret=), which names the client and proves nothing; the
	// request is method none.
	emptySecret bool
}

// readClientAuth works out the client authentication a token, revocation
// or introspection request presents, refusing requests that use more than
// one method (RFC 6749 §2.3: "The client MUST NOT use more than one
// authentication method in each request").
//
// An empty secret is not a method: it only names the client (x/oauth2
// probes with Basic "client_id:" and an empty password, and some clients
// send client_secret= for public clients), so a public client sending one
// is still a public client, and a confidential one fails as if it had sent
// nothing. Its client_id must agree with any other the request names.
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
	// Empty secrets only name the client.
	named := []string{form.Get("client_id")}
	real := methods[:0:0]
	for _, m := range methods {
		if secretMethod(m.method) && m.secret == "" {
			named = append(named, m.clientID)
			continue
		}
		real = append(real, m)
	}
	if len(real) > 1 {
		return presentedAuth{}, oauth.InvalidRequest("more than one client authentication method used (RFC 6749 §2.3)")
	}
	p := presentedAuth{method: oauth.AuthMethodNone, emptySecret: len(real) < len(methods)}
	if len(real) == 1 {
		p = real[0]
	}
	// Every client_id the request names must name the same client.
	for _, id := range named {
		switch {
		case id == "":
		case p.clientID == "":
			p.clientID = id
		case id != p.clientID:
			if len(real) == 1 {
				return presentedAuth{}, oauth.InvalidClient("client_id in the body does not match the authenticated client")
			}
			return presentedAuth{}, oauth.InvalidClient("the request names two different client_ids")
		}
	}
	if p.clientID == "" {
		return presentedAuth{}, oauth.InvalidClient("no client authentication: send client_id (public clients) or credentials")
	}
	return p, nil
}

// secretMethod reports whether method presents a shared secret.
func secretMethod(method string) bool {
	return method == oauth.AuthMethodClientSecretBasic || method == oauth.AuthMethodClientSecretPost
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
	// A secret is accepted by HTTP Basic or in the body whichever method
	// the client registered: RFC 6749 §2.3.1 makes Basic the one servers
	// must support, OAuth 2.1 §2.4.1 the body form, and clients pick by
	// their own rules (the TS SDK prefers Basic whatever was registered).
	want := client.AuthMethod()
	switch {
	case want == p.method, secretMethod(want) && secretMethod(p.method):
	case secretMethod(want) && p.emptySecret:
		return nil, s.basicChallenge(c, oauth.InvalidClient("client authentication failed: the client_secret is empty"))
	case want == oauth.AuthMethodNone && secretMethod(p.method):
		return nil, s.basicChallenge(c, oauth.InvalidClient(
			"client is public (token_endpoint_auth_method none) and has no secret; send client_id without client_secret"))
	default:
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
	if secretExpired(client, s.now()) {
		return oauth.InvalidClient("the client secret expired at %s; %s", client.SecretExpiresAt.UTC().Format(time.RFC3339), renewSecretHint(client))
	}
	return nil
}

// secretExpired reports whether the client has a secret and it expired
// (client_secret_expires_at, RFC 7591 §3.2.1; zero means never).
func secretExpired(client *oauth.Client, now time.Time) bool {
	return len(client.SecretHash) > 0 && !client.SecretExpiresAt.IsZero() && !now.Before(client.SecretExpiresAt)
}

// renewSecretHint says how a client with an expired secret gets a new one.
func renewSecretHint(client *oauth.Client) string {
	if client.Kind == oauth.ClientDCR {
		return "get a new one by updating the registration at its registration_client_uri with the registration_access_token (RFC 7592 §2.2)"
	}
	return "ask the operator for a new one"
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
