//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// expirableSource is the token source the Go SDK uses after the code
// exchange (through AuthorizationCodeHandlerConfig.NewTokenSource). It is
// x/oauth2's own refreshing source; expire makes the current access token
// look expired, as it will be once its lifetime passes, so that the next
// request makes x/oauth2 refresh it with the refresh token.
type expirableSource struct {
	ctx context.Context
	cfg *oauth2.Config

	mu   sync.Mutex
	src  oauth2.TokenSource
	seen []*oauth2.Token // every distinct token handed out, oldest first
}

func (s *expirableSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.src.Token()
	if err != nil {
		return nil, err
	}
	if n := len(s.seen); n == 0 || s.seen[n-1].AccessToken != tok.AccessToken {
		s.seen = append(s.seen, tok)
	}
	return tok, nil
}

func (s *expirableSource) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.seen[len(s.seen)-1]
	cur.Expiry = time.Now().Add(-time.Minute)
	s.src = s.cfg.TokenSource(s.ctx, &cur)
}

func (s *expirableSource) tokens() []*oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*oauth2.Token(nil), s.seen...)
}

// testGoSDK connects the MCP Go SDK's client, with its OAuth
// authorization-code handler, to st's demo MCP server: as a CIMD client
// when cimdURL is set, else through DCR. The handler's
// AuthorizationCodeFetcher is the headless form driver.
func testGoSDK(t *testing.T, st *stack, cimdURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	oauthRec := &recorder{name: "oauth"}
	mcpRec := &recorder{name: "mcp"}
	defer oauthRec.save(t)
	defer mcpRec.save(t)

	driver := newFormDriver()
	defer driver.savePages(t)
	var fetches int
	var callback, authURL *url.URL
	var src *expirableSource
	cfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL: driverRedirect,
		// SEP-2207: ask for offline_access when Gatehouse lists it.
		RequestRefreshToken: true,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			fetches++
			authURL, _ = url.Parse(args.URL)
			cb, err := driver.Run(ctx, args.URL, driverRedirect)
			if err != nil {
				return nil, err
			}
			callback = cb
			q := cb.Query()
			if e := q.Get("error"); e != "" {
				return nil, errors.New("authorization failed: " + e + ": " + q.Get("error_description"))
			}
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		Client: &http.Client{Transport: oauthRec},
		NewTokenSource: func(ctx context.Context, c *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			src = &expirableSource{ctx: ctx, cfg: c, src: c.TokenSource(ctx, tok), seen: []*oauth2.Token{tok}}
			return src, nil
		},
	}
	if cimdURL != "" {
		cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: cimdURL}
	} else {
		cfg.DynamicClientRegistrationConfig = &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:              "Gatehouse e2e Go SDK",
			RedirectURIs:            []string{driverRedirect},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: "none",
		}}
	}
	handler, err := auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	transport := &mcp.StreamableClientTransport{
		Endpoint:             st.mcpURL,
		HTTPClient:           &http.Client{Transport: mcpRec},
		OAuthHandler:         handler,
		DisableStandaloneSSE: true,
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "gatehouse-e2e-go-sdk", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, transport, nil)
	if err != nil {
		t.Fatalf("connect: %v\nform steps: %v", err, driver.Steps)
	}
	defer session.Close()

	// One authorization, through the sign-in and consent pages, answered
	// with code, state and iss.
	if fetches != 1 {
		t.Fatalf("AuthorizationCodeFetcher called %d times, want 1", fetches)
	}
	checkPages(t, st, driver.Pages, cimdURL)
	scopes := strings.Fields(authURL.Query().Get("scope"))
	if !slices.Contains(scopes, mcpScope) || slices.Contains(st.metadata(t).ScopesSupported, "offline_access") != slices.Contains(scopes, "offline_access") {
		t.Errorf("authorization request scope %q (Gatehouse lists %v)", scopes, st.metadata(t).ScopesSupported)
	}
	if got := authURL.Query().Get("resource"); got != st.mcpURL {
		t.Errorf("authorization request resource = %q", got)
	}
	if q := callback.Query(); q.Get("iss") != st.issuer || q.Get("code") == "" || q.Get("state") == "" {
		t.Errorf("callback %s: want code, state and iss=%s", callback.Redacted(), st.issuer)
	}

	// Registration.
	clientID := cimdURL
	regs := oauthRec.matching("/register", "")
	if cimdURL != "" {
		if len(regs) != 0 {
			t.Errorf("a CIMD client registered anyway")
		}
		if st.docs.fetchCount(cimdURL) < 1 {
			t.Errorf("Gatehouse never fetched %s", cimdURL)
		}
	} else {
		if len(regs) != 1 || regs[0].Status != http.StatusCreated {
			t.Fatalf("want one 201 registration, got %+v", regs)
		}
		var sent, got map[string]any
		_ = json.Unmarshal(regs[0].JSONBody, &sent)
		_ = json.Unmarshal(regs[0].RespBody, &got)
		if sent["application_type"] != "native" {
			t.Errorf("the Go SDK's registration body has application_type %v, want native", sent["application_type"])
		}
		clientID, _ = got["client_id"].(string)
		if !strings.HasPrefix(clientID, "dcr_") {
			t.Errorf("registration response: %s", regs[0].RespBody)
		}
	}

	// The code exchange. Through DCR the client said "none", so x/oauth2
	// puts client_id in the body. Through CIMD the SDK leaves the auth style
	// on AutoDetect: x/oauth2 sends HTTP Basic with the client_id and an
	// empty password first. An empty secret names a public client and
	// proves nothing more, which is all a public client proves: one
	// exchange, accepted.
	exch := oauthRec.matching("/token", "authorization_code")
	if len(exch) != 1 || exch[0].Status != http.StatusOK {
		t.Fatalf("want one accepted code exchange, got %+v", exch)
	}
	if cimdURL != "" {
		if x := exch[0]; x.AuthScheme != "Basic" || x.BasicUser != url.QueryEscape(cimdURL) || x.BasicPass == nil || *x.BasicPass != "" {
			t.Errorf("the exchange is not x/oauth2's empty-password Basic: %+v", x)
		}
	} else if exch[0].AuthScheme != "" || exch[0].Form.Get("client_id") != clientID {
		t.Fatalf("code exchange: %+v", exch)
	}
	if !strings.Contains(exch[0].CacheControl, "no-store") {
		t.Errorf("token response Cache-Control = %q, want no-store", exch[0].CacheControl)
	}
	if got := exch[0].Form.Get("resource"); got != st.mcpURL {
		t.Errorf("exchange resource = %q", got)
	}

	// Tool calls.
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "add") || !slices.Contains(names, "whoami") {
		t.Errorf("tools: %v", names)
	}
	if sum := callAdd(ctx, t, session, 2, 3); sum != 5 {
		t.Errorf("add(2,3) = %v", sum)
	}
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	var w whoami
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &w)
	checkWhoami(t, st, w, clientID)

	// Refresh: the access token expires; x/oauth2 refreshes it before the
	// next request, and the call goes out with the new token.
	if src == nil {
		t.Fatal("the SDK never built a token source")
	}
	first := src.tokens()[0]
	if first.RefreshToken == "" {
		t.Fatalf("no refresh token issued: %+v", first)
	}
	src.expire()
	mark := len(mcpRec.all())
	if sum := callAdd(ctx, t, session, 40, 2); sum != 42 {
		t.Errorf("add(40,2) after the refresh = %v", sum)
	}
	toks := src.tokens()
	if len(toks) != 2 {
		t.Fatalf("want exactly one refresh, the source handed out %d tokens", len(toks))
	}
	second := toks[1]
	if second.AccessToken == first.AccessToken || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Errorf("refresh did not give a new access token and a rotated refresh token")
	}
	refreshes := oauthRec.matching("/token", "refresh_token")
	if n := len(refreshes); n == 0 || refreshes[n-1].Status != http.StatusOK || !strings.Contains(refreshes[n-1].CacheControl, "no-store") {
		t.Errorf("refresh requests: %+v", refreshes)
	}
	for _, x := range mcpRec.all()[mark:] {
		if x.Bearer != second.AccessToken {
			t.Errorf("an MCP request after the refresh carried another token (%d)", x.Status)
		}
	}
	if fetches != 1 {
		t.Errorf("the refresh needed a new authorization")
	}

	// The rotated-out refresh token is dead.
	status, code := postToken(t, st, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}, "client_id": {clientID}})
	if status != http.StatusBadRequest || code != "invalid_grant" {
		t.Errorf("replaying the old refresh token: %d %s, want 400 invalid_grant", status, code)
	}
}

func callAdd(ctx context.Context, t *testing.T, s *mcp.ClientSession, a, b float64) float64 {
	t.Helper()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": a, "b": b}})
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if res.IsError {
		t.Fatalf("add: tool error %+v", res.Content)
	}
	m, _ := res.StructuredContent.(map[string]any)
	sum, ok := m["sum"].(float64)
	if !ok {
		t.Fatalf("add: structured content %v", res.StructuredContent)
	}
	return sum
}

// postToken posts a form to Gatehouse's token endpoint and returns the
// status and OAuth error code.
func postToken(t *testing.T, st *stack, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(st.issuer+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}
