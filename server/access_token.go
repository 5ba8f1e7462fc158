package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// accessTokenClaims are the claims of an RFC 9068 JWT access token.
type accessTokenClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	// Nonce is set in ID tokens only.
	Nonce    string `json:"nonce,omitempty"`
	AuthTime int64  `json:"auth_time,omitempty"`
	// Extra are the user claims a resource asked for (resources[].claims),
	// flattened into the token by MarshalJSON.
	Extra map[string]any `json:"-"`
}

// tokenSpec is what an access token says.
type tokenSpec struct {
	Subject   string
	ClientID  string
	Audience  []string
	Scopes    []string
	AuthTime  time.Time
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Extra are the user claims the resource lists (resources[].claims).
	Extra map[string]any
}

// newTokenSpec fills in the token ID and lifetime.
func (s *Server) newTokenSpec(sub, clientID string, aud, scopes []string, authTime time.Time) (tokenSpec, error) {
	jti, err := s.newID()
	if err != nil {
		return tokenSpec{}, err
	}
	now := s.now()
	return tokenSpec{Subject: sub, ClientID: clientID, Audience: aud, Scopes: scopes, AuthTime: authTime,
		JTI: jti, IssuedAt: now, ExpiresAt: now.Add(s.cfg.AccessTokenTTL)}, nil
}

func (t tokenSpec) issued() store.IssuedToken {
	return store.IssuedToken{JTI: t.JTI, ExpiresAt: t.ExpiresAt}
}

// signAccessToken serialises the token as a JWT with typ "at+jwt" and the
// active key's kid (RFC 9068 §2).
func (s *Server) signAccessToken(t tokenSpec) (string, error) {
	claims := accessTokenClaims{
		Claims: jwt.Claims{
			Issuer:   s.cfg.Issuer,
			Subject:  t.Subject,
			Audience: jwt.Audience(t.Audience),
			Expiry:   jwt.NewNumericDate(t.ExpiresAt),
			IssuedAt: jwt.NewNumericDate(t.IssuedAt),
			ID:       t.JTI,
		},
		ClientID: t.ClientID,
		Scope:    oauth.JoinScope(t.Scopes),
		Extra:    t.Extra,
	}
	if !t.AuthTime.IsZero() {
		claims.AuthTime = t.AuthTime.Unix()
	}
	// The claims are a fixed struct, so encoding/json serialises them
	// directly; go-jose's jwt builder would marshal them reflectively and
	// round-trip them through a map first, a fifth of the signing cost.
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.keys.AccessTokenSigner().Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// errNotOurToken: the string is not an access token this server signed.
var errNotOurToken = errors.New("not an access token issued here")

// parseAccessToken verifies a token's signature against the published
// keys, its typ and its issuer. It does not check expiry or revocation.
func (s *Server) parseAccessToken(raw string) (*accessTokenClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{SigningAlgorithm})
	if err != nil || len(tok.Headers) != 1 {
		return nil, errNotOurToken
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != oauth.AccessTokenJWTType {
		return nil, errNotOurToken
	}
	var claims accessTokenClaims
	if err := tok.Claims(s.keys.Public(), &claims); err != nil {
		return nil, errNotOurToken
	}
	if claims.Issuer != s.cfg.Issuer || claims.ID == "" || claims.Expiry == nil {
		return nil, errNotOurToken
	}
	return &claims, nil
}

// newID returns 128 random bits, base64url: token IDs, grant IDs.
func (s *Server) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := s.rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
