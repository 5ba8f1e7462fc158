package dcr

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

type env struct {
	svc   *Service
	store *boltstore.Store
	clock *storetest.Clock
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	clock := storetest.NewClock()
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := DefaultConfig()
	cfg.RegistrationURL = func(id string) string { return "https://as.example/register/" + id }
	for _, m := range mutate {
		m(&cfg)
	}
	return &env{svc: New(cfg, st, clock.Now, nil), store: st, clock: clock}
}

// inspectorBody is what the MCP Inspector and the TS SDK v2 send.
const inspectorBody = `{"redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"MCP Inspector",
"client_uri":"https://github.com/modelcontextprotocol/inspector","scope":"","application_type":"native","software_id":"inspector"}`

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := oauth.Code(err); got != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

func TestRegisterPublicClient(t *testing.T) {
	e := newEnv(t)
	info, err := e.svc.Register(context.Background(), []byte(inspectorBody), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ClientID, "dcr_") || strings.HasPrefix(info.ClientID, "https://") {
		t.Fatalf("client_id = %q", info.ClientID)
	}
	if info.ClientSecret != "" || info.ClientSecretExpiresAt != nil {
		t.Fatal("a public client got a secret")
	}
	if info.RegistrationAccessToken == "" || info.RegistrationClientURI != "https://as.example/register/"+info.ClientID {
		t.Fatalf("RFC 7592 fields = %q %q", info.RegistrationAccessToken, info.RegistrationClientURI)
	}
	if info.ApplicationType != "native" || info.RedirectURIs[0] != "http://localhost:6274/oauth/callback" || info.ClientName != "MCP Inspector" {
		t.Fatalf("metadata not echoed: %+v", info.ClientMetadata)
	}
	c, err := e.svc.ResolveClient(context.Background(), info.ClientID)
	if err != nil || c.Kind != oauth.ClientDCR || !c.IsPublic() || !c.AllowsGrant("refresh_token") {
		t.Fatalf("ResolveClient = %+v %v", c, err)
	}
}

func TestRegisterConfidentialDefaults(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SecretTTL = 30 * 24 * time.Hour })
	info, err := e.svc.Register(context.Background(), []byte(`{"redirect_uris":["https://app.example.com/cb"]}`), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7591 §2 defaults: client_secret_basic, authorization_code, code.
	if info.TokenEndpointAuthMethod != "client_secret_basic" || len(info.GrantTypes) != 1 || info.GrantTypes[0] != "authorization_code" ||
		len(info.ResponseTypes) != 1 || info.ApplicationType != "web" {
		t.Fatalf("defaults = %+v", info.ClientMetadata)
	}
	if !strings.HasPrefix(info.ClientSecret, "ghs_") || info.ClientSecretExpiresAt == nil ||
		*info.ClientSecretExpiresAt != e.clock.Now().Add(30*24*time.Hour).Unix() {
		t.Fatalf("secret = %q expires %v", info.ClientSecret, info.ClientSecretExpiresAt)
	}
	raw, _ := json.Marshal(info)
	stored, _ := e.store.Client(context.Background(), info.ClientID)
	if strings.Contains(string(mustJSON(stored)), info.ClientSecret) || !strings.Contains(string(raw), `"client_secret_expires_at"`) {
		t.Fatal("the secret is stored in clear, or the expiry is missing from the response")
	}
	// Reading the registration never shows the secret again.
	read, err := e.svc.Read(context.Background(), info.ClientID, info.RegistrationAccessToken)
	if err != nil || read.ClientSecret != "" || read.ClientSecretExpiresAt == nil {
		t.Fatalf("read = %+v %v", read, err)
	}
}

// A public client that turns confidential through RFC 7592 gets a secret
// with the same lifetime as one issued at registration.
func TestUpdateToConfidentialHonoursSecretTTL(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SecretTTL = 30 * 24 * time.Hour })
	ctx := context.Background()
	info, err := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	up, err := e.svc.Update(ctx, info.ClientID, info.RegistrationAccessToken, []byte(`{"client_id":"`+info.ClientID+
		`","redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"client_secret_basic"}`))
	if err != nil {
		t.Fatal(err)
	}
	if up.ClientSecret == "" || up.ClientSecretExpiresAt == nil || *up.ClientSecretExpiresAt != e.clock.Now().Add(30*24*time.Hour).Unix() {
		t.Fatalf("secret %q expires %v, want %d", up.ClientSecret, up.ClientSecretExpiresAt, e.clock.Now().Add(30*24*time.Hour).Unix())
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestHostileRegistrations(t *testing.T) {
	e := newEnv(t)
	many := make([]string, 10000)
	for i := range many {
		many[i] = fmt.Sprintf("https://app.example.com/cb%d", i)
	}
	manyJSON, _ := json.Marshal(map[string]any{"redirect_uris": many, "token_endpoint_auth_method": "none"})
	deep := `{"redirect_uris":["https://a.example/cb"],"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	pub := func(extra string) string {
		return `{"token_endpoint_auth_method":"none"` + extra + `}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"10000 redirect URIs", string(manyJSON), "invalid_redirect_uri"},
		{"javascript redirect", pub(`,"redirect_uris":["javascript:alert(1)"]`), "invalid_redirect_uri"},
		{"data redirect", pub(`,"redirect_uris":["data:text/html,<script>x</script>"]`), "invalid_redirect_uri"},
		{"non-https redirect", pub(`,"redirect_uris":["http://app.example.com/cb"]`), "invalid_redirect_uri"},
		{"fragment", pub(`,"redirect_uris":["https://app.example.com/cb#frag"]`), "invalid_redirect_uri"},
		{"userinfo", pub(`,"redirect_uris":["https://user:pw@app.example.com/cb"]`), "invalid_redirect_uri"},
		{"127.1 spelling", pub(`,"redirect_uris":["http://127.1/cb"]`), "invalid_redirect_uri"},
		{"decimal IP", pub(`,"redirect_uris":["http://2130706433/cb"]`), "invalid_redirect_uri"},
		{"hex IP", pub(`,"redirect_uris":["http://0x7f000001/cb"]`), "invalid_redirect_uri"},
		{"mapped IPv6 loopback", pub(`,"redirect_uris":["http://[::ffff:127.0.0.1]/cb"]`), "invalid_redirect_uri"},
		{"localhost suffix", pub(`,"redirect_uris":["http://localhost.evil.example/cb"]`), "invalid_redirect_uri"},
		{"file scheme", pub(`,"redirect_uris":["file:///etc/passwd"]`), "invalid_redirect_uri"},
		{"relative", pub(`,"redirect_uris":["/cb"]`), "invalid_redirect_uri"},
		// RFC 6749 §3.1: no response parameter twice (issue 10 item 4).
		{"code in redirect query", pub(`,"redirect_uris":["https://a.example/cb?code=planted"]`), "invalid_redirect_uri"},
		{"state in loopback redirect query", pub(`,"redirect_uris":["http://127.0.0.1/cb?x=1&state=s"]`), "invalid_redirect_uri"},
		{"encoded iss in redirect query", pub(`,"redirect_uris":["https://a.example/cb?%69ss=x"]`), "invalid_redirect_uri"},
		{"error_description in second redirect", pub(`,"redirect_uris":["https://a.example/cb","https://a.example/cb2?error_description"]`), "invalid_redirect_uri"},
		{"no redirect for code", pub(``), "invalid_redirect_uri"},
		{"deeply nested", deep, "invalid_client_metadata"},
		{"duplicate keys", `{"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://evil.example/cb"]}`, "invalid_client_metadata"},
		{"array body", `[{"redirect_uris":["https://a.example/cb"]}]`, "invalid_client_metadata"},
		{"string body", `"hello"`, "invalid_client_metadata"},
		{"trailing data", `{"redirect_uris":["https://a.example/cb"]} {}`, "invalid_client_metadata"},
		{"invalid UTF-8", "{\"client_name\":\"\xff\xfe\",\"redirect_uris\":[\"https://a.example/cb\"]}", "invalid_client_metadata"},
		{"redirect_uris as string", `{"redirect_uris":"https://a.example/cb"}`, "invalid_client_metadata"},
		{"only implicit grant (nothing usable once narrowed)", pub(`,"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]`), "invalid_client_metadata"},
		{"password grant", pub(`,"redirect_uris":["https://a.example/cb"],"grant_types":["password"]`), "invalid_client_metadata"},
		{"only token response type (no code for the code grant)", pub(`,"redirect_uris":["https://a.example/cb"],"response_types":["token"]`), "invalid_client_metadata"},
		{"grants and response types disagree", `{"grant_types":["client_credentials"],"response_types":["code"]}`, "invalid_client_metadata"},
		{"public client_credentials", pub(`,"grant_types":["client_credentials"]`), "invalid_client_metadata"},
		{"jwks and jwks_uri", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]},"jwks_uri":"https://a.example/jwks"}`, "invalid_client_metadata"},
		{"private_key_jwt without keys", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata"},
		{"private key in jwks", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[` + privateJWK(t) + `]}}`, "invalid_client_metadata"},
		{"symmetric key in jwks", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}`, "invalid_client_metadata"},
		{"client_secret_jwt", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"}`, "invalid_client_metadata"},
		{"data jwks_uri", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"data:application/json,{}"}`, "invalid_client_metadata"},
		{"RTL override in name", pub(`,"redirect_uris":["https://a.example/cb"],"client_name":"Goo\u202egle"`), "invalid_client_metadata"},
		{"newline in name", pub(`,"redirect_uris":["https://a.example/cb"],"client_name":"a\nb"`), "invalid_client_metadata"},
		{"huge name", pub(`,"redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("x", 1000) + `"`), "invalid_client_metadata"},
		{"scope with quote", pub(`,"redirect_uris":["https://a.example/cb"],"scope":"a \"b"`), "invalid_client_metadata"},
		{"HS256 signing alg", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_signing_alg":"HS256"}`, "invalid_client_metadata"},
		{"unknown grant URI", pub(`,"redirect_uris":["https://a.example/cb"],"grant_types":["urn:evil:grant"]`), "invalid_client_metadata"},
		{"too many contacts", pub(`,"redirect_uris":["https://a.example/cb"],"contacts":["a","b","c","d","e","f","g","h","i","j","k"]`), "invalid_client_metadata"},
		{"unsigned software statement", pub(`,"redirect_uris":["https://a.example/cb"],"software_statement":"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."`), "invalid_software_statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Register(context.Background(), []byte(tt.body), "198.51.100.7", "")
			wantCode(t, err, tt.want)
		})
	}
	if list, _ := e.store.ListClients(context.Background(), true); len(list) != 0 {
		t.Fatalf("hostile registrations left %d records", len(list))
	}
}

func privateJWK(t *testing.T) string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, err := json.Marshal(jose.JSONWebKey{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNarrowedAndIgnored(t *testing.T) {
	e := newEnv(t)
	body := `{"redirect_uris":["https://a.example/cb","https://a.example/cb"],"token_endpoint_auth_method":"none",
"grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:device_code","refresh_token"],
"unknown_field":{"nested":true},"client_name#ja":"名前","scope":"  read   write "}`
	info, err := e.svc.Register(context.Background(), []byte(body), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.GrantTypes) != 2 || info.GrantTypes[1] != "refresh_token" || len(info.RedirectURIs) != 1 || info.Scope != "read write" {
		t.Fatalf("narrowed = %+v", info.ClientMetadata)
	}
}

func TestIdenticalUnusedRegistrationsShareOneRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, _ := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	second, _ := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	if first.ClientID != second.ClientID || first.RegistrationAccessToken == second.RegistrationAccessToken {
		t.Fatalf("identical registrations: %s/%s", first.ClientID, second.ClientID)
	}
	// Each registrant keeps managing the client it was given (two people
	// behind one NAT running the same tool); a made-up token does not.
	for _, rat := range []string{first.RegistrationAccessToken, second.RegistrationAccessToken} {
		if _, err := e.svc.Read(ctx, first.ClientID, rat); err != nil {
			t.Fatalf("registrant's token refused after the merge: %v", err)
		}
	}
	if _, err := e.svc.Read(ctx, first.ClientID, "ghm_not-a-token"); !IsInvalidToken(err) {
		t.Fatalf("unknown registration token = %v", err)
	}
	// Another address, or a used client, gets its own record.
	other, _ := e.svc.Register(ctx, []byte(inspectorBody), "203.0.113.9", "")
	if other.ClientID == first.ClientID {
		t.Fatal("registrations from another address were merged")
	}
	if err := e.svc.RecordToken(ctx, first.ClientID); err != nil {
		t.Fatal(err)
	}
	third, _ := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	if third.ClientID == first.ClientID {
		t.Fatal("a used client absorbed a new registration")
	}
	st := e.svc.Stats()
	if st.Registrations.Load() != 4 || st.Deduplicated.Load() != 1 || st.Converted.Load() != 1 {
		t.Fatalf("stats = %d %d %d", st.Registrations.Load(), st.Deduplicated.Load(), st.Converted.Load())
	}
}

func TestUnusedAndIdleExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	unused, _ := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.1", "")
	active, _ := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.2", "")
	e.clock.Advance(23 * time.Hour)
	if err := e.svc.RecordToken(ctx, active.ClientID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.svc.ResolveClient(ctx, unused.ClientID); oauth.Code(err) != "invalid_client" {
		t.Fatalf("unused client after 24h: %v", err)
	}
	// Activity keeps a client alive indefinitely; idleness ends it.
	for range 5 {
		e.clock.Advance(60 * 24 * time.Hour)
		if err := e.svc.RecordToken(ctx, active.ClientID); err != nil {
			t.Fatalf("active client expired: %v", err)
		}
	}
	e.clock.Advance(90 * 24 * time.Hour)
	if _, err := e.svc.ResolveClient(ctx, active.ClientID); oauth.Code(err) != "invalid_client" {
		t.Fatalf("idle client after 90 days: %v", err)
	}
}

func TestManagement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	info, _ := e.svc.Register(ctx, []byte(`{"redirect_uris":["https://a.example/cb"],"client_name":"A"}`), "198.51.100.7", "")
	rat := info.RegistrationAccessToken
	if _, err := e.svc.Read(ctx, info.ClientID, "ghm_wrong"); !IsInvalidToken(err) {
		t.Fatalf("read with a wrong token: %v", err)
	}
	if _, err := e.svc.Read(ctx, "dcr_unknown", rat); !IsInvalidToken(err) {
		t.Fatalf("read of an unknown client: %v", err)
	}
	// Update: echoing the whole registration back is fine.
	read, _ := e.svc.Read(ctx, info.ClientID, rat)
	read.ClientName = "B"
	read.ClientSecret = info.ClientSecret
	body, _ := json.Marshal(read)
	updated, err := e.svc.Update(ctx, info.ClientID, rat, body)
	if err != nil || updated.ClientName != "B" || updated.ClientSecret != "" {
		t.Fatalf("update = %+v %v", updated, err)
	}
	for name, mutate := range map[string]func(map[string]any){
		"wrong client_id":      func(m map[string]any) { m["client_id"] = "dcr_other" },
		"missing client_id":    func(m map[string]any) { delete(m, "client_id") },
		"changed issued_at":    func(m map[string]any) { m["client_id_issued_at"] = 1 },
		"chosen secret":        func(m map[string]any) { m["client_secret"] = "ghs_mine" },
		"changed registration": func(m map[string]any) { m["registration_client_uri"] = "https://evil/" },
	} {
		var m map[string]any
		json.Unmarshal(body, &m)
		mutate(m)
		b, _ := json.Marshal(m)
		if _, err := e.svc.Update(ctx, info.ClientID, rat, b); oauth.Code(err) != "invalid_client_metadata" {
			t.Errorf("%s: %v, want invalid_client_metadata", name, err)
		}
	}
	// Omitted fields are removed (RFC 7592 §2.2).
	minimal := fmt.Sprintf(`{"client_id":%q,"redirect_uris":["https://a.example/cb2"],"token_endpoint_auth_method":"none"}`, info.ClientID)
	updated, err = e.svc.Update(ctx, info.ClientID, rat, []byte(minimal))
	if err != nil || updated.ClientName != "" || updated.RedirectURIs[0] != "https://a.example/cb2" || updated.ClientSecretExpiresAt != nil {
		t.Fatalf("replacing update = %+v %v", updated, err)
	}
	if _, err := e.svc.Delete(ctx, info.ClientID, "ghm_wrong"); !IsInvalidToken(err) {
		t.Fatalf("delete with a wrong token: %v", err)
	}
	if _, err := e.svc.Delete(ctx, info.ClientID, rat); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResolveClient(ctx, info.ClientID); oauth.Code(err) != "invalid_client" {
		t.Fatalf("deleted client resolves: %v", err)
	}
	if _, err := e.svc.Read(ctx, info.ClientID, rat); !IsInvalidToken(err) {
		t.Fatalf("read after delete: %v", err)
	}
}

func TestModes(t *testing.T) {
	ctx := context.Background()
	closed := newEnv(t, func(c *Config) { c.Mode = ModeClosed })
	_, err := closed.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	wantCode(t, err, "access_denied")

	tok := newEnv(t, func(c *Config) { c.Mode = ModeToken })
	if _, err := tok.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", ""); !IsInvalidToken(err) {
		t.Fatalf("token mode without a token: %v", err)
	}
	iat, _, err := tok.svc.CreateInitialAccessToken(ctx, 1, time.Hour, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "ghi_forged"); !IsInvalidToken(err) {
		t.Fatalf("forged token: %v", err)
	}
	if _, err := tok.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", iat); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if _, err := tok.svc.Register(ctx, []byte(`{"redirect_uris":["https://b.example/cb"]}`), "198.51.100.7", iat); !IsInvalidToken(err) {
		t.Fatalf("used-up token: %v", err)
	}
}

// statementIssuer signs software statements for tests.
type statementIssuer struct {
	key *ecdsa.PrivateKey
	iss string
}

func newStatementIssuer(iss string) statementIssuer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return statementIssuer{key: k, iss: iss}
}

func (s statementIssuer) trusted() TrustedIssuer {
	return TrustedIssuer{Issuer: s.iss, Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: "ssa"}}},
		Algorithms: []jose.SignatureAlgorithm{jose.ES256}}
}

func (s statementIssuer) sign(t *testing.T, claims map[string]any) string {
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.key, KeyID: "ssa"}}, nil)
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSoftwareStatements(t *testing.T) {
	ctx := context.Background()
	good := newStatementIssuer("https://ssa.example")
	rogue := newStatementIssuer("https://rogue.example")
	e := newEnv(t, func(c *Config) { c.Statements = StatementPolicy{Issuers: []TrustedIssuer{good.trusted()}} })
	body := func(stmt string) []byte {
		return []byte(fmt.Sprintf(`{"redirect_uris":["https://a.example/cb"],"client_name":"Spoofed","token_endpoint_auth_method":"none","software_statement":%q}`, stmt))
	}
	now := e.clock.Now()
	stmt := good.sign(t, map[string]any{"iss": good.iss, "iat": now.Unix(), "client_name": "Verified App", "software_id": "verified-1"})
	info, err := e.svc.Register(ctx, body(stmt), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	if info.ClientName != "Verified App" || info.SoftwareID != "verified-1" {
		t.Fatalf("statement claims did not win: %+v", info.ClientMetadata)
	}
	// The verified software_id is what client profiles match on; a
	// self-asserted one (no statement, or an update without it) is not.
	if c, err := e.svc.ResolveClient(ctx, info.ClientID); err != nil || c.VerifiedSoftwareID != "verified-1" {
		t.Fatalf("resolved %+v, %v: want VerifiedSoftwareID verified-1", c, err)
	}
	claimed, err := e.svc.Register(ctx, []byte(`{"redirect_uris":["https://a.example/cb"],"software_id":"verified-1","token_endpoint_auth_method":"none"}`), "198.51.100.8", "")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := e.svc.ResolveClient(ctx, claimed.ClientID); c.VerifiedSoftwareID != "" || c.Metadata.SoftwareID != "verified-1" {
		t.Fatalf("a claimed software_id counted as verified: %+v", c)
	}
	upd := fmt.Sprintf(`{"client_id":%q,"redirect_uris":["https://a.example/cb"],"software_id":"verified-1","token_endpoint_auth_method":"none"}`, info.ClientID)
	if _, err := e.svc.Update(ctx, info.ClientID, info.RegistrationAccessToken, []byte(upd)); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.svc.ResolveClient(ctx, info.ClientID); c.VerifiedSoftwareID != "" {
		t.Fatalf("an update without the statement kept the verified software_id: %+v", c)
	}
	hostile := map[string]struct {
		stmt, want string
	}{
		"untrusted issuer":       {rogue.sign(t, map[string]any{"iss": rogue.iss}), "unapproved_software_statement"},
		"forged as trusted":      {rogue.sign(t, map[string]any{"iss": good.iss}), "invalid_software_statement"},
		"no iss":                 {good.sign(t, map[string]any{"client_name": "x"}), "invalid_software_statement"},
		"expired":                {good.sign(t, map[string]any{"iss": good.iss, "exp": now.Add(-time.Hour).Unix()}), "invalid_software_statement"},
		"not a JWS":              {"garbage", "invalid_software_statement"},
		"bad redirect in claims": {good.sign(t, map[string]any{"iss": good.iss, "redirect_uris": []string{"javascript:x"}}), "invalid_redirect_uri"},
	}
	for name, h := range hostile {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Register(ctx, body(h.stmt), "198.51.100.7", "")
			wantCode(t, err, h.want)
		})
	}
	required := newEnv(t, func(c *Config) {
		c.Statements = StatementPolicy{Required: true, Issuers: []TrustedIssuer{good.trusted()}}
	})
	_, err = required.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
	wantCode(t, err, "invalid_software_statement")
}

func FuzzRegistrationBody(f *testing.F) {
	f.Add([]byte(inspectorBody))
	f.Add([]byte(`{"redirect_uris":["https://a/cb"],"grant_types":["client_credentials","authorization_code"]}`))
	f.Add([]byte(`{"jwks":{"keys":[{"kty":"RSA"}]},"token_endpoint_auth_method":"private_key_jwt"}`))
	svc := New(DefaultConfig(), nil, time.Now, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		meta, _, narrowed, err := svc.validate(svc.cfg.Load(), body)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Status != 400 {
				t.Fatalf("non-OAuth error %v", err)
			}
			return
		}
		for _, u := range meta.RedirectURIs {
			if strings.HasPrefix(strings.ToLower(u), "javascript:") || strings.Contains(u, "#") {
				t.Fatalf("accepted redirect %q", u)
			}
		}
		for _, g := range meta.GrantTypes {
			if g != "authorization_code" && g != "refresh_token" && g != "client_credentials" {
				t.Fatalf("accepted grant %q", g)
			}
		}
		if meta.TokenEndpointAuthMethod == "" || (len(meta.JWKS) > 0 && meta.JWKSURI != "") {
			t.Fatalf("inconsistent metadata %+v", meta)
		}
		// What is kept is usable, and every drop is reported.
		if meta.ApplicationType != "web" && meta.ApplicationType != "native" {
			t.Fatalf("kept application_type %q", meta.ApplicationType)
		}
		for _, u := range []string{meta.LogoURI, meta.ClientURI, meta.TOSURI, meta.PolicyURI} {
			if u != "" && policy.CheckMetadataURL("url", u) != nil {
				t.Fatalf("kept unusable URL %q", u)
			}
		}
		for _, rt := range meta.ResponseTypes {
			if rt != "code" {
				t.Fatalf("kept response type %q", rt)
			}
		}
		for _, n := range narrowed {
			if n.Field == "" || n.Reason == "" || n.Spec == "" {
				t.Fatalf("narrowing %+v does not say what and why", n)
			}
		}
	})
}

// Client IDs sort in registration order (the store appends them) and
// still differ within one clock tick.
func TestClientIDsSortByRegistrationTime(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 4 {
		if i == 2 {
			e.clock.Advance(time.Nanosecond)
		}
		id, err := e.svc.newClientID(e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != len("dcr_")+32 || strings.Trim(id[4:], "0123456789abcdefghijklmnopqrstuv") != "" {
			t.Fatalf("client_id %q: want dcr_ and 32 lower-case base32hex characters", id)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Fatal("two IDs in one clock tick collided")
	}
	for _, early := range ids[:2] {
		for _, late := range ids[2:] {
			if early >= late {
				t.Fatalf("%s (earlier) sorts after %s", early, late)
			}
		}
	}
}

// client_credentials is dropped from registrations while the operator
// keeps it closed (dcr.allow_client_credentials): narrowed when the client
// asked for more, refused when it asked for nothing else.
func TestClientCredentialsNarrowedUnlessAllowed(t *testing.T) {
	ctx := context.Background()
	const both = `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`
	const only = `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`
	closed := newEnv(t)
	info, err := closed.svc.Register(ctx, []byte(both), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.GrantTypes, ",") != "authorization_code" {
		t.Fatalf("grant_types = %v, want client_credentials dropped", info.GrantTypes)
	}
	_, err = closed.svc.Register(ctx, []byte(only), "198.51.100.7", "")
	wantCode(t, err, "invalid_client_metadata")
	// RFC 7592 update goes through the same rule.
	_, err = closed.svc.Update(ctx, info.ClientID, info.RegistrationAccessToken,
		[]byte(`{"client_id":"`+info.ClientID+`","grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`))
	wantCode(t, err, "invalid_client_metadata")

	open := newEnv(t, func(c *Config) { c.AllowClientCredentials = true })
	info, err = open.svc.Register(ctx, []byte(only), "198.51.100.7", "")
	if err != nil || strings.Join(info.GrantTypes, ",") != "client_credentials" {
		t.Fatalf("with the grant open: %v %v", info, err)
	}
}
