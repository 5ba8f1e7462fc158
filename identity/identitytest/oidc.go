package identitytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OIDC is a minimal OpenID Connect provider on a local TLS server. Its
// authorization endpoint is not a page: a test calls Authorize with the
// URL Gatehouse built, as the browser would after the user signed in.
type OIDC struct {
	Server       *httptest.Server
	ClientID     string
	ClientSecret string
	Key          *ecdsa.PrivateKey
	// Claims are the user's claims put in the next ID tokens (sub
	// required) and served at userinfo (with UserInfoExtra added).
	Claims        map[string]any
	UserInfoExtra map[string]any
	// Mutate, when set, changes the ID token claims and header before
	// signing (hostile cases).
	Mutate func(claims map[string]any, opts *jose.SignerOptions) (alg jose.SignatureAlgorithm, key any)
	// Now is the clock for iat/exp (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	codes map[string]pendingCode
	// Discovery, when false, makes discovery answer 503.
	Discovery bool
}

type pendingCode struct {
	challenge, nonce, redirect string
}

// NewOIDC starts the provider; it stops when the test ends.
func NewOIDC(t testing.TB) *OIDC {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o := &OIDC{ClientID: "gatehouse", ClientSecret: "upstream-secret-0123456789abcdefghij", Key: key, Now: time.Now,
		codes: map[string]pendingCode{}, Discovery: true,
		Claims: map[string]any{"sub": "u-123", "email": "alice@example.com", "email_verified": true,
			"name": "Alice Example", "preferred_username": "alice", "groups": []string{"staff"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", o.discovery)
	mux.HandleFunc("GET /jwks", o.jwks)
	mux.HandleFunc("POST /token", o.token)
	mux.HandleFunc("GET /userinfo", o.userinfo)
	o.Server = httptest.NewTLSServer(mux)
	t.Cleanup(o.Server.Close)
	return o
}

// Issuer is the provider's issuer URL.
func (o *OIDC) Issuer() string { return o.Server.URL }

func (o *OIDC) discovery(w http.ResponseWriter, r *http.Request) {
	if !o.Discovery {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{
		"issuer": o.Issuer(), "authorization_endpoint": o.Issuer() + "/authorize",
		"token_endpoint": o.Issuer() + "/token", "jwks_uri": o.Issuer() + "/jwks",
		"userinfo_endpoint": o.Issuer() + "/userinfo", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"ES256"},
	})
}

func (o *OIDC) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &o.Key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

// Authorize plays the user signing in upstream: it checks the request
// Gatehouse built and returns the code the browser would bring back.
func (o *OIDC) Authorize(t testing.TB, authURL string) (code, state string) {
	t.Helper()
	q := mustQuery(t, authURL, o.Issuer()+"/authorize")
	if q.Get("client_id") != o.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization request %s lacks client_id, code or S256", authURL)
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		t.Fatalf("authorization request scope %q lacks openid", q.Get("scope"))
	}
	code = rand.Text()
	o.mu.Lock()
	o.codes[code] = pendingCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	o.mu.Unlock()
	return code, q.Get("state")
}

func (o *OIDC) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != o.ClientID || secret != o.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	o.mu.Lock()
	pc, found := o.codes[r.PostForm.Get("code")]
	delete(o.codes, r.PostForm.Get("code"))
	o.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || pc.redirect != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge {
		tokenError(w, "invalid_grant")
		return
	}
	idToken, err := o.IDToken(pc.nonce)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"access_token": "at-" + rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// IDToken signs an ID token for the configured user.
func (o *OIDC) IDToken(nonce string) (string, error) {
	now := o.Now()
	claims := map[string]any{"iss": o.Issuer(), "aud": o.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range o.Claims {
		claims[k] = v
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1")
	alg, key := jose.ES256, any(o.Key)
	if o.Mutate != nil {
		if a, k := o.Mutate(claims, opts); a != "" {
			alg, key = a, k
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func (o *OIDC) userinfo(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	out := map[string]any{}
	for k, v := range o.Claims {
		out[k] = v
	}
	for k, v := range o.UserInfoExtra {
		out[k] = v
	}
	writeJSON(w, out)
}

func tokenError(w http.ResponseWriter, code string) {
	w.WriteHeader(http.StatusBadRequest)
	writeJSON(w, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
