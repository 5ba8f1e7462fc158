package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
)

const callback = "https://gatehouse.test/login/corp/callback"

func newOIDC(t *testing.T, up *identitytest.OIDC, adm identity.Admission) identity.Provider {
	t.Helper()
	p, err := identity.New(identity.Config{ID: "corp", Name: "Corp SSO", Type: identity.TypeOIDC, Issuer: up.Issuer(),
		ClientID: up.ClientID, ClientSecret: up.ClientSecret, Admission: adm},
		identity.Deps{HTTPClient: up.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signIn runs the browser's round trip: Gatehouse's authorization URL,
// the upstream's code, the exchange.
func signIn(t *testing.T, p identity.Provider, up *identitytest.OIDC, nonce string) (identity.Identity, error) {
	t.Helper()
	req := identity.AuthRequest{State: "st-" + rand.Text(), Nonce: "n-" + rand.Text(), Verifier: rand.Text() + rand.Text(), RedirectURI: callback}
	u, err := p.AuthURL(context.Background(), req)
	if err != nil {
		return identity.Identity{}, err
	}
	code, state := up.Authorize(t, u)
	if state != req.State {
		t.Fatalf("state = %q, want %q", state, req.State)
	}
	if nonce == "" {
		nonce = req.Nonce
	}
	return p.Exchange(context.Background(), identity.Callback{Code: code, Verifier: req.Verifier, Nonce: nonce, RedirectURI: callback})
}

func TestOIDCSignIn(t *testing.T) {
	up := identitytest.NewOIDC(t)
	p := newOIDC(t, up, identity.Admission{RequireVerifiedEmail: true, AllowedEmailDomains: []string{"Example.com"}})
	id, err := signIn(t, p, up, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Provider != "corp" || id.Subject != "u-123" || id.Email != "alice@example.com" || !id.EmailVerified ||
		id.Username != "alice" || id.Name != "Alice Example" || len(id.Groups) != 1 || id.AuthTime.IsZero() {
		t.Fatalf("identity = %+v", id)
	}
}

func TestOIDCUserInfoFillsMissingClaims(t *testing.T) {
	up := identitytest.NewOIDC(t)
	delete(up.Claims, "groups")
	p := newOIDC(t, up, identity.Admission{AllowedGroups: []string{"mcp-users"}})
	up.UserInfoExtra = map[string]any{"groups": []string{"mcp-users"}}
	id, err := signIn(t, p, up, "")
	if err != nil || len(id.Groups) != 1 || id.Groups[0] != "mcp-users" {
		t.Fatalf("identity = %+v, %v; want groups from userinfo", id, err)
	}
	up.UserInfoExtra = map[string]any{"sub": "someone-else"}
	if _, err := signIn(t, p, up, ""); !isUpstream(err) || !strings.Contains(err.Error(), "another subject") {
		t.Fatalf("userinfo about another subject: err = %v", err)
	}
}

func TestOIDCHostile(t *testing.T) {
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name   string
		mutate func(claims map[string]any, opts *jose.SignerOptions) (jose.SignatureAlgorithm, any)
		nonce  string
		want   string
	}{
		{name: "wrong nonce", nonce: "not-this-browser", want: "nonce"},
		{name: "wrong audience", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			c["aud"] = "someone-else"
			return "", nil
		}, want: "verification"},
		{name: "wrong issuer", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			c["iss"] = "https://evil.example"
			return "", nil
		}, want: "verification"},
		{name: "expired", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			return "", nil
		}, want: "verification"},
		{name: "HS256 with the client secret", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			return jose.HS256, []byte("upstream-secret-0123456789abcdefghij")
		}, want: "verification"},
		{name: "signed by an unknown key", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			return jose.ES256, otherKey
		}, want: "verification"},
		{name: "no nonce", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			delete(c, "nonce")
			return "", nil
		}, want: "nonce"},
		{name: "sub too long", mutate: func(c map[string]any, _ *jose.SignerOptions) (jose.SignatureAlgorithm, any) {
			c["sub"] = strings.Repeat("x", 300)
			return "", nil
		}, want: "unusable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := identitytest.NewOIDC(t)
			up.Mutate = tt.mutate
			p := newOIDC(t, up, identity.Admission{})
			_, err := signIn(t, p, up, tt.nonce)
			if !isUpstream(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an UpstreamError about %q", err, tt.want)
			}
		})
	}
}

func TestOIDCWrongVerifierRefusedUpstream(t *testing.T) {
	up := identitytest.NewOIDC(t)
	p := newOIDC(t, up, identity.Admission{})
	req := identity.AuthRequest{State: "s", Nonce: "n", Verifier: rand.Text() + rand.Text(), RedirectURI: callback}
	u, _ := p.AuthURL(context.Background(), req)
	code, _ := up.Authorize(t, u)
	_, err := p.Exchange(context.Background(), identity.Callback{Code: code, Verifier: rand.Text() + rand.Text(), Nonce: "n", RedirectURI: callback})
	if !isUpstream(err) || !strings.Contains(err.Error(), "code was not accepted") {
		t.Fatalf("err = %v", err)
	}
}

func TestOIDCAdmission(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		adm    identity.Admission
		reason string
	}{
		{"unverified email", map[string]any{"email_verified": false}, identity.Admission{RequireVerifiedEmail: true}, "verified"},
		{"domain not allowed", map[string]any{"email": "mallory@evil.example"}, identity.Admission{AllowedEmailDomains: []string{"example.com"}}, "evil.example"},
		{"subdomain is not the domain", map[string]any{"email": "a@x.example.com"}, identity.Admission{AllowedEmailDomains: []string{"example.com"}}, "x.example.com"},
		{"no email with a domain rule", map[string]any{"email": nil}, identity.Admission{AllowedEmailDomains: []string{"example.com"}}, "no email"},
		{"not in group", map[string]any{"groups": []string{"guests"}}, identity.Admission{AllowedGroups: []string{"staff-only"}}, "group"},
		{"email_verified as string false", map[string]any{"email_verified": "false"}, identity.Admission{RequireVerifiedEmail: true}, "verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := identitytest.NewOIDC(t)
			for k, v := range tt.claims {
				up.Claims[k] = v
			}
			p := newOIDC(t, up, tt.adm)
			_, err := signIn(t, p, up, "")
			var re *identity.RefusedError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) || re.Provider != "corp" {
				t.Fatalf("err = %v, want a refusal naming %q", err, tt.reason)
			}
		})
	}
}

func TestOIDCDiscoveryRetriedAfterFailure(t *testing.T) {
	up := identitytest.NewOIDC(t)
	up.Discovery = false
	p := newOIDC(t, up, identity.Admission{})
	if _, err := p.AuthURL(context.Background(), identity.AuthRequest{State: "s", Nonce: "n", Verifier: "v", RedirectURI: callback}); !isUpstream(err) {
		t.Fatalf("discovery down: err = %v", err)
	}
	up.Discovery = true
	if _, err := signIn(t, p, up, ""); err != nil {
		t.Fatalf("after the upstream came back: %v", err)
	}
}

func TestOIDCAuthURLCarriesHints(t *testing.T) {
	up := identitytest.NewOIDC(t)
	p := newOIDC(t, up, identity.Admission{})
	zero := 0
	u, err := p.AuthURL(context.Background(), identity.AuthRequest{State: "s", Nonce: "n", Verifier: "v", RedirectURI: callback, LoginHint: "alice@example.com", MaxAge: &zero})
	if err != nil || !strings.Contains(u, "login_hint=alice%40example.com") || !strings.Contains(u, "max_age=0") || !strings.Contains(u, "nonce=n") {
		t.Fatalf("auth URL = %s, %v", u, err)
	}
}

func isUpstream(err error) bool {
	var ue *identity.UpstreamError
	return errors.As(err, &ue)
}
