package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// TestSoftwareIDProfileNeedsAVerifiedStatement: a registration whose
// software_id comes from a statement signed by a trusted issuer gets the
// software_ids profile; one that merely claims the same software_id is an
// ordinary registered client.
func TestSoftwareIDProfileNeedsAVerifiedStatement(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cfg := dcr.DefaultConfig()
	cfg.Statements = dcr.StatementPolicy{Issuers: []dcr.TrustedIssuer{{Issuer: "https://ssa.example",
		Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ssa"}}}}}}
	e := newOAuthEnvWith(t, &cfg)
	e.setProfiles(
		policy.Profile{Name: "partner", Match: policy.ProfileMatch{SoftwareIDs: []string{"partner-cli"}}},
		policy.Profile{Name: "registered", Match: policy.ProfileMatch{Registered: true}, Ceilings: policy.Ceilings{AccessTokenTTL: 5 * time.Minute}},
	)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "ssa"}}, nil)
	stmt, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://ssa.example", "iat": e.clock.Now().Unix(), "software_id": "partner-cli"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","software_id":"partner-cli"%s}`
	profileOf := func(extra string) string {
		resp, reg := e.register(fmt.Sprintf(body, extra))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register = %d %v", resp.StatusCode, reg)
		}
		c, err := e.srv.policy().clients.ResolveClient(context.Background(), reg["client_id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return e.srv.clientProfile(c).Name
	}
	if got := profileOf(fmt.Sprintf(`,"software_statement":%q`, stmt)); got != "partner" {
		t.Errorf("a verified software_id got profile %q, want partner", got)
	}
	if got := profileOf(""); got != "registered" {
		t.Errorf("a claimed software_id got profile %q, want registered", got)
	}
}
