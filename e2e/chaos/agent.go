package main

// The client side of every flow: plain HTTP requests as an OAuth client
// or an RFC 7591 registrant sends them. Each call returns the answer as it
// came; a transport error (the server died mid-request) is reported as
// such, because then nobody knows whether the write happened.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	resourceURI  = "https://mcp.example.com/mcp"
	redirectURI  = "http://127.0.0.1/callback"
	userName     = "chaos"
	userPassword = "chaos-user-password"
)

// answer is one HTTP exchange: status and decoded JSON body, or the
// transport error that stopped it.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	err    error // transport: the request may or may not have been applied
	took   time.Duration
	// waitsOnHost: the request may wait on a slow or failing metadata
	// host (up to cimd.fetch.timeout), so its latency is not Gatehouse's.
	waitsOnHost bool
}

// waitsOnHostKey marks a context whose requests may wait on a metadata host.
type waitsOnHostKey struct{}

// inFlight reports a request whose effect is unknown.
func (a answer) inFlight() bool { return a.err != nil }

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (a answer) String() string {
	if a.err != nil {
		return "transport error: " + a.err.Error()
	}
	raw := a.raw
	if len(raw) > 300 {
		raw = raw[:300] + "..."
	}
	return fmt.Sprintf("%d %s", a.status, raw)
}

// errUnexpected is an answer no correct server gives: a 5xx, or a status
// the flow cannot explain.
type errUnexpected struct {
	op string
	a  answer
}

func (e *errUnexpected) Error() string { return e.op + ": unexpected " + e.a.String() }

func unexpected(op string, a answer) error { return &errUnexpected{op: op, a: a} }

// agent sends requests to one Gatehouse.
type agent struct {
	base string
	hc   *http.Client
	// observe, when set, is told every answer (soak statistics).
	observe func(op string, a answer)
}

func newAgent(base string, conns int) *agent {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: 30 * time.Second}
	return &agent{base: base, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// forget drops kept-alive connections (after a restart they are dead).
func (a *agent) forget() { a.hc.Transport.(*http.Transport).CloseIdleConnections() }

func (a *agent) do(ctx context.Context, op string, req *http.Request, hc *http.Client) answer {
	if hc == nil {
		hc = a.hc
	}
	start := time.Now()
	resp, err := hc.Do(req.WithContext(ctx))
	out := answer{err: err}
	if err == nil {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if rerr != nil {
			out.err = rerr
		} else {
			out.status, out.header, out.raw = resp.StatusCode, resp.Header, string(b)
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				_ = json.Unmarshal(b, &out.body)
			}
		}
	}
	out.took = time.Since(start)
	if ctx.Value(waitsOnHostKey{}) != nil {
		out.waitsOnHost = true
	}
	if a.observe != nil {
		a.observe(op, out)
	}
	return out
}

// form posts a form as client user: with HTTP Basic when it has a secret
// (client_secret_basic), as client_id in the body when it is public.
func (a *agent) form(ctx context.Context, op, path string, form url.Values, user, pass string) answer {
	if user != "" && pass == "" {
		form.Set("client_id", user)
	}
	req, _ := http.NewRequest(http.MethodPost, a.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" && pass != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return a.do(ctx, op, req, nil)
}

func (a *agent) jsonReq(ctx context.Context, op, method, path, bearer string, body any) answer {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return a.do(ctx, op, req, nil)
}

// registration is the client metadata this program registers and updates.
type registration struct {
	ClientName   string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Contacts     []string `json:"contacts,omitempty"`
	ClientURI    string   `json:"client_uri,omitempty"`
}

func (r registration) body(clientID string) map[string]any {
	m := map[string]any{"client_name": r.ClientName, "redirect_uris": r.RedirectURIs,
		"token_endpoint_auth_method": "client_secret_basic", "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}}
	if len(r.Contacts) > 0 {
		m["contacts"] = r.Contacts
	}
	if r.ClientURI != "" {
		m["client_uri"] = r.ClientURI
	}
	if clientID != "" {
		m["client_id"] = clientID
	}
	return m
}

// matches reports whether a registration response carries exactly r.
func (r registration) matches(body map[string]any) bool {
	got := registration{ClientName: str(body["client_name"]), RedirectURIs: strs(body["redirect_uris"]),
		Contacts: strs(body["contacts"]), ClientURI: str(body["client_uri"])}
	return got.ClientName == r.ClientName && equal(got.RedirectURIs, r.RedirectURIs) &&
		equal(got.Contacts, r.Contacts) && got.ClientURI == r.ClientURI
}

func str(v any) string { s, _ := v.(string); return s }

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, str(x))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (a *agent) register(ctx context.Context, r registration) answer {
	return a.jsonReq(ctx, "register", http.MethodPost, "/register", "", r.body(""))
}

func (a *agent) readRegistration(ctx context.Context, c *chain) answer {
	return a.jsonReq(ctx, "registration_read", http.MethodGet, "/register/"+c.id, c.rat, nil)
}

func (a *agent) updateRegistration(ctx context.Context, c *chain, r registration) answer {
	return a.jsonReq(ctx, "registration_update", http.MethodPut, "/register/"+c.id, c.rat, r.body(c.id))
}

func (a *agent) deleteRegistration(ctx context.Context, c *chain) answer {
	return a.jsonReq(ctx, "registration_delete", http.MethodDelete, "/register/"+c.id, c.rat, nil)
}

func (a *agent) exchange(ctx context.Context, c *chain, code, verifier string) answer {
	return a.form(ctx, "exchange", "/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {redirectURI}, "resource": {resourceURI}}, c.id, c.secret)
}

func (a *agent) refresh(ctx context.Context, c *chain, rt string) answer {
	return a.form(ctx, "refresh", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, c.id, c.secret)
}

func (a *agent) revoke(ctx context.Context, c *chain, token, hint string) answer {
	return a.form(ctx, "revoke", "/revoke", url.Values{"token": {token}, "token_type_hint": {hint}}, c.id, c.secret)
}

// introspect asks /introspect about token, as the client that owns it
// (refresh tokens are reported only to their own client).
func (a *agent) introspect(ctx context.Context, c *chain, token string) answer {
	return a.form(ctx, "introspect", "/introspect", url.Values{"token": {token}}, c.id, c.secret)
}

// introspectRS asks about an access token as the resource server, a
// static client with allow_introspection: it sees every client's tokens,
// including those of deleted clients (reported inactive).
func (a *agent) introspectRS(ctx context.Context, token string) answer {
	return a.form(ctx, "introspect", "/introspect", url.Values{"token": {token}}, rsClientID, rsClientSecret)
}

// The resource server's static client (rsSettings).
const (
	rsClientID     = "chaos-resource-server"
	rsClientSecret = "chaos-resource-server-secret-0123456789"
)

// rsSettings configure the resource server's client.
var rsSettings = settings{"clients:\n  - client_id: " + rsClientID + "\n    client_secret: " + rsClientSecret +
	"\n    grant_types: [client_credentials]\n    allow_introspection: true"}

// activeIn reads an introspection answer; ok is false unless it is a 200
// carrying a boolean "active".
func activeIn(an answer) (active, ok bool) {
	active, ok = an.body["active"].(bool)
	return active, ok && an.err == nil && an.status == http.StatusOK
}

// pkce returns a fresh verifier and its S256 challenge.
func pkce() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomName is prefix and 12 random lowercase hex digits.
func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
