package resource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/resource"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// testResource is the protected resource of most tests. Verification
// never contacts it, so nothing needs to listen there.
const testResource = "http://127.0.0.1:9000/mcp"

const (
	svcClient = "svc"
	svcSecret = "correct-horse-battery-staple"
	// rsClient is the resource server's own client for introspection: an
	// operator-configured client with allow_introspection.
	rsClient = "mcp-resource-server"
	rsSecret = "resource-server-secret-0123"
)

// gatehouse is a real Gatehouse authorization server on a real bbolt
// store behind a real listener, counting the requests resource servers
// make to it.
type gatehouse struct {
	srv    *server.Server
	store  *boltstore.Store
	http   *httptest.Server
	issuer string

	jwksRequests          atomic.Int64 // GET /jwks.json
	jwksNotModified       atomic.Int64 // ... answered 304
	metadataRequests      atomic.Int64 // GET /.well-known/oauth-authorization-server
	introspectionRequests atomic.Int64 // POST /introspect
	failJWKS              atomic.Bool  // answer /jwks.json with 503
	failIntrospection     atomic.Bool  // answer /introspect with 503
}

// startGatehouse runs Gatehouse for resources (default: testResource with
// scopes tools:call and admin) with one client_credentials client, svc.
func startGatehouse(t testing.TB, resources ...server.Resource) *gatehouse {
	t.Helper()
	if len(resources) == 0 {
		resources = []server.Resource{{URI: testResource, Scopes: []string{"tools:call", "admin"}}}
	}
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sum := sha256.Sum256([]byte(svcSecret))
	rsSum := sha256.Sum256([]byte(rsSecret))
	static, err := server.NewStaticClients([]*oauth.Client{{ID: svcClient, SecretHash: sum[:], Metadata: oauth.ClientMetadata{
		TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, GrantTypes: []string{oauth.GrantClientCredentials}}},
		{ID: rsClient, SecretHash: rsSum[:], MayIntrospect: true, Metadata: oauth.ClientMetadata{
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, GrantTypes: []string{oauth.GrantClientCredentials}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatehouse{store: st}
	g.http = httptest.NewUnstartedServer(nil)
	g.issuer = "http://" + g.http.Listener.Addr().String()
	g.srv, err = server.New(context.Background(), server.Config{
		Issuer:         g.issuer,
		AccessTokenTTL: 10 * time.Minute,
		RefreshIdleTTL: time.Hour,
		RefreshMaxTTL:  24 * time.Hour,
		SessionTTL:     time.Hour,
		Login:          server.LoginLimits{MaxFailuresAccount: 5, MaxFailuresIP: 20, Window: time.Minute},
		BodyLimit:      64 << 10,
		Resources:      resources,
	}, server.Deps{Store: st, Clients: &server.ClientChain{Static: static}})
	if err != nil {
		t.Fatal(err)
	}
	inner := g.srv.Handler()
	g.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jwks.json":
			g.jwksRequests.Add(1)
			if g.failJWKS.Load() {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			if r.Header.Get("If-None-Match") != "" {
				rec := &statusRecorder{ResponseWriter: w}
				inner.ServeHTTP(rec, r)
				if rec.status == http.StatusNotModified {
					g.jwksNotModified.Add(1)
				}
				return
			}
		case "/.well-known/oauth-authorization-server":
			g.metadataRequests.Add(1)
		case "/introspect":
			g.introspectionRequests.Add(1)
			if g.failIntrospection.Load() {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
	g.http.Start()
	t.Cleanup(g.http.Close)
	return g
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// token obtains an access token for res with the client_credentials grant,
// as a real client does (golang.org/x/oauth2).
func (g *gatehouse) token(t testing.TB, res string, scopes ...string) string {
	t.Helper()
	cc := clientcredentials.Config{
		ClientID: svcClient, ClientSecret: svcSecret, TokenURL: g.issuer + "/token",
		Scopes: scopes, EndpointParams: url.Values{"resource": {res}},
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials token: %v", err)
	}
	return tok.AccessToken
}

// revoke revokes an access token the way its client does (RFC 7009).
func (g *gatehouse) revoke(t testing.TB, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.issuer+"/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(svcClient, svcSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", resp.Status)
	}
}

// signingKey is Gatehouse's active private key, read from its store: tests
// use it to sign tokens Gatehouse would never issue.
func (g *gatehouse) signingKey(t testing.TB) jose.JSONWebKey {
	t.Helper()
	keys, err := g.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Active() {
			priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			return jose.JSONWebKey{Key: priv, KeyID: k.ID, Algorithm: k.Algorithm}
		}
	}
	t.Fatal("no active signing key")
	return jose.JSONWebKey{}
}

// rotate makes Gatehouse sign with a new key, keeping the old one
// published, as `gatehouse keys rotate` does.
func (g *gatehouse) rotate(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if _, err := server.RotateKey(ctx, g.store, time.Now(), 10*time.Minute, 0, rand.Reader); err != nil {
		t.Fatal(err)
	}
	keys, err := g.store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Keys().Reload(keys); err != nil {
		t.Fatal(err)
	}
}

// validClaims are the claims of a good token for testResource.
func (g *gatehouse) validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": g.issuer, "sub": "usr_alice", "aud": testResource, "client_id": "app",
		"scope": "tools:call", "jti": "jti-1", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// sign serialises claims as a compact JWS with key, alg and extra headers
// (typ defaults to at+jwt; a nil value removes a header).
func sign(t testing.TB, key jose.JSONWebKey, alg jose.SignatureAlgorithm, claims map[string]any, headers map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"}}
	for k, v := range headers {
		if v == nil {
			delete(opts.ExtraHeaders, jose.HeaderKey(k))
		} else {
			opts.ExtraHeaders[jose.HeaderKey(k)] = v
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds an "alg":"none" token by hand: go-jose refuses to.
func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func newP256(t testing.TB, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newVerifier is a verifier for testResource trusting g, on clk.
func newVerifier(t testing.TB, g *gatehouse, clk *clock, mutate ...func(*resource.Config)) *resource.Verifier {
	t.Helper()
	cfg := resource.Config{Resource: testResource, Issuer: g.issuer, ScopesSupported: []string{"tools:call"}, Now: clk.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := resource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kidOf reads the kid header of a compact JWS without verifying it.
func kidOf(t testing.TB, token string) string {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}
