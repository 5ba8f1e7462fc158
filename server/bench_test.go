package server

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/internal/benchcpu"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// benchServer is a server on a durable store (fsync on every commit, as in
// production) with the standard test clients.
func benchServer(b *testing.B) (*Server, *boltstore.Store) {
	b.Helper()
	st, err := boltstore.Open(b.TempDir(), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	static, _ := NewStaticClients([]*oauth.Client{
		{ID: "public-app", Metadata: oauth.ClientMetadata{TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RedirectURIs: []string{publicRedirect}, GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}}},
		{ID: "conf-app", SecretHash: secretHash(testSecret), Metadata: oauth.ClientMetadata{
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, GrantTypes: []string{oauth.GrantClientCredentials}}},
	})
	cfg := testConfig()
	cfg.RefreshIdleTTL, cfg.RefreshMaxTTL = time.Hour, 24*time.Hour
	cfg.Resources = []Resource{{URI: testResource, Scopes: []string{"files:read"}}}
	srv, err := New(context.Background(), cfg, Deps{Store: st, Clients: &ClientChain{Static: static}, Passwords: NewPasswordHasher(cheapPasswords)})
	if err != nil {
		b.Fatal(err)
	}
	return srv, st
}

func serveForm(h http.Handler, path string, form url.Values, user, pass string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// BenchmarkSignAccessToken: one ES256 JWT access token.
func BenchmarkSignAccessToken(b *testing.B) {
	srv, _ := benchServer(b)
	spec, _ := srv.newTokenSpec("usr_x", "public-app", []string{testResource}, []string{"files:read"}, time.Now())
	b.ReportAllocs()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := srv.signAccessToken(spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	stop()
}

// BenchmarkClientCredentials: the whole token endpoint for a confidential
// client (Basic authentication, one signature, no store write).
func BenchmarkClientCredentials(b *testing.B) {
	srv, _ := benchServer(b)
	h := srv.Handler()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}, "scope": {"files:read"}}
	b.ReportAllocs()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serveForm(h, tokenPath, form, "conf-app", testSecret); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	stop()
}

// BenchmarkCodeExchange: the whole token endpoint redeeming authorization
// codes, 64 exchanges in flight: one signature and one durable commit each,
// the commits shared through bbolt Batch.
func BenchmarkCodeExchange(b *testing.B) {
	srv, st := benchServer(b)
	h := srv.Handler()
	verifier, challenge := pkce()
	codes := make([]string, b.N)
	ids := make([]string, b.N)
	hashes := make([]string, b.N)
	now := time.Now()
	// The codes carry their session's credential, as issued ones do, so
	// the exchange pays for checking it (the user is read once per code).
	user := store.User{ID: "usr_bench", Name: "bench", PasswordHash: "$argon2id$bench", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(context.Background(), user); err != nil {
		b.Fatal(err)
	}
	credential := store.CredentialDigest(user)
	for i := range codes {
		var err error
		if codes[i], ids[i], hashes[i], err = srv.newHandle(codePrefix); err != nil {
			b.Fatal(err)
		}
	}
	// Create the codes concurrently so setup shares commits too.
	prepareParallel(b, len(codes), func(i int) error {
		return st.CreateCode(context.Background(), store.AuthCode{ID: ids[i], SecretHash: hashes[i], ClientID: "public-app",
			RedirectURI: publicRedirect, RedirectURIGiven: true, UserID: "usr_bench", Scopes: []string{"files:read"},
			Resources: []string{testResource}, CodeChallenge: challenge, AuthTime: now, IssuedAt: now, Credential: credential,
			ExpiresAt: now.Add(time.Hour), KeepUntil: now.Add(2 * time.Hour)})
	})
	var next atomic.Int64
	b.SetParallelism(32) // 32 × GOMAXPROCS goroutines
	b.ReportAllocs()
	b.ResetTimer()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) - 1
			form := url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "code_verifier": {verifier},
				"redirect_uri": {publicRedirect}, "client_id": {"public-app"}}
			if rec := serveForm(h, tokenPath, form, "", ""); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	stop()
}

// BenchmarkRefresh: the token endpoint rotating refresh tokens, 64 in
// flight, each of a grant of its own: the token and grant reads, one
// durable commit (old token marked, new one stored, grant updated; shared
// through the group commit) and one signature.
func BenchmarkRefresh(b *testing.B) {
	srv, st := benchServer(b)
	h := srv.Handler()
	tokens := make([]string, b.N)
	now := time.Now()
	prepareParallel(b, len(tokens), func(i int) error {
		_, id, hash, err := srv.newHandle(codePrefix)
		if err == nil {
			err = st.CreateCode(context.Background(), store.AuthCode{ID: id, SecretHash: hash, ClientID: "public-app",
				RedirectURI: publicRedirect, UserID: "", Scopes: []string{"files:read"}, Resources: []string{testResource},
				IssuedAt: now, ExpiresAt: now.Add(time.Hour), KeepUntil: now.Add(2 * time.Hour)})
		}
		var grantID string
		if err == nil {
			grantID, err = srv.orderedID()
		}
		if err == nil {
			g := store.Grant{ID: grantID, ClientID: "public-app", Scopes: []string{"files:read"}, Resources: []string{testResource},
				CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), LastUsedAt: now}
			var rt store.RefreshToken
			tokens[i], rt, err = srv.newRefreshToken(now, g.ExpiresAt)
			if err == nil {
				err = st.RedeemCode(context.Background(), id, now, g, rt)
			}
		}
		return err
	})
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) - 1
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens[i]}, "client_id": {"public-app"}}
			if rec := serveForm(h, tokenPath, form, "", ""); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	stop()
}

// BenchmarkDiscovery: the metadata document.
func BenchmarkDiscovery(b *testing.B) {
	srv, _ := benchServer(b)
	h := srv.Handler()
	b.ReportAllocs()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, wellKnownOAuth, nil))
			if rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	})
	stop()
}

// BenchmarkRegister: RFC 7591 registrations of distinct public clients,
// 64 in flight, on a durable store: one validation and one shared commit
// each.
func BenchmarkRegister(b *testing.B) {
	st, err := boltstore.Open(b.TempDir(), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := testConfig()
	cfg.Register = RegisterLimits{PerIPPerMinute: 1 << 30, GlobalPerSecond: 1 << 30, MaxBody: 16 << 10}
	reg := dcr.New(dcr.DefaultConfig(), st, nil, nil)
	srv, err := New(context.Background(), cfg, Deps{Store: st, Registration: reg, Clients: &ClientChain{DCR: reg},
		Passwords: NewPasswordHasher(cheapPasswords)})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := `{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"client_name":"bench-` +
				strconv.FormatInt(n.Add(1), 10) + `","application_type":"native"}`
			req := httptest.NewRequest(http.MethodPost, registerPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	stop()
}

// BenchmarkAuthorize: /authorize up to the redirect to sign-in (no
// session), for a static client and for a CIMD client whose document is
// cached: resolution, validation and the redirect, end to end.
func BenchmarkAuthorize(b *testing.B) {
	host := newDocHost(b)
	cimdID := host.publish("/oauth/client.json", publicDoc())
	st, err := boltstore.Open(b.TempDir(), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := cimd.DefaultConfig()
	cfg.AllowPrivateAddresses = true
	cfg.ExtraRootCAs = []*x509.Certificate{host.srv.Certificate()}
	resolver, err := cimd.NewResolver(cfg, cimd.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer resolver.Close()
	static, _ := NewStaticClients([]*oauth.Client{{ID: "static-app", Metadata: oauth.ClientMetadata{TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{"http://127.0.0.1/callback"}, GrantTypes: []string{"authorization_code"}}}})
	scfg := testConfig()
	scfg.CIMD = true
	scfg.Resources = []Resource{{URI: testResource, Scopes: []string{"files:read"}}}
	srv, err := New(context.Background(), scfg, Deps{Store: st, Clients: &ClientChain{Static: static, CIMD: resolver},
		ClientKeys: resolver, Logos: resolver, Passwords: NewPasswordHasher(cheapPasswords)})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	// The benchmark measures the store write, not the limit on it.
	srv.pendingLimiter = newRegistrationLimiter(RegisterLimits{PerIPPerMinute: 1 << 30, GlobalPerSecond: 1 << 30})
	_, challenge := pkce()
	long := authzParams("static-app", "http://127.0.0.1:5000/callback", challenge)
	long.Set("state", strings.Repeat("é&=+/ x", 450)) // too long for the sign-in URL: stored as pending
	for name, target := range map[string]string{
		"static":                    authorizePath + "?" + authzParams("static-app", "http://127.0.0.1:5000/callback", challenge).Encode(),
		"cimd-cached":               authorizePath + "?" + authzParams(cimdID, "http://127.0.0.1:5000/callback", challenge).Encode(),
		"static-long-state-pending": authorizePath + "?" + long.Encode(),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			stop := benchcpu.Start(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
					if rec.Code != http.StatusFound {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
			stop()
		})
	}
}

// BenchmarkAuthorizeIssuesCode: /authorize for a signed-in user whose
// consent is remembered: session and consent reads, one code write (a
// shared durable commit), the redirect.
func BenchmarkAuthorizeIssuesCode(b *testing.B) {
	srv, st := benchServer(b)
	ctx := context.Background()
	a := &Accounts{Store: st, Hasher: srv.passwords, Now: time.Now}
	u, err := a.Add(ctx, "bench", "bench-password")
	if err != nil {
		b.Fatal(err)
	}
	token := "bench-session-token"
	st.CreateSession(ctx, store.Session{ID: hashToken(token), UserID: u.ID, AuthTime: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	st.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: "public-app", Scopes: []string{"files:read"}, Resources: []string{testResource},
		Fingerprint: srv.policy().clients.(*ClientChain).Static.byID["public-app"].Fingerprint})
	_, challenge := pkce()
	target := authorizePath + "?" + authzParams("public-app", publicRedirect, challenge).Encode()
	h := srv.Handler()
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	stop := benchcpu.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: token})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "code=") {
				b.Fatalf("%d %s", rec.Code, rec.Header().Get("Location"))
			}
		}
	})
	stop()
}

// prepareParallel runs prepare(i) for every i in [0, n) on 64 goroutines,
// so that the setup's writes share commits as the measured requests do,
// and fails the benchmark on the first error.
func prepareParallel(b *testing.B, n int, prepare func(i int) error) {
	b.Helper()
	var next atomic.Int64
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					errs <- nil
					return
				}
				if err := prepare(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}
