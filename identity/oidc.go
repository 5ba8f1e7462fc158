package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// idTokenAlgorithms is the ID token signature allowlist: asymmetric
// algorithms only, never none or HMAC (a client secret is no signing key
// Gatehouse wants to trust).
var idTokenAlgorithms = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// oidcProvider signs users in through any OpenID Connect provider:
// discovery, authorization code with PKCE, ID token verification (go-oidc)
// and, when the ID token lacks a mapped claim, the userinfo endpoint.
type oidcProvider struct {
	cfg  Config
	deps Deps

	mu   sync.Mutex
	disc *oidc.Provider // nil until discovery succeeds
}

func newOIDC(cfg Config, deps Deps) *oidcProvider {
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	cfg.Claims = cfg.Claims.withDefaults()
	return &oidcProvider{cfg: cfg, deps: deps}
}

func (p *oidcProvider) ID() string   { return p.cfg.ID }
func (p *oidcProvider) Name() string { return p.cfg.Name }
func (p *oidcProvider) Type() string { return TypeOIDC }

// discover fetches the provider's metadata once and keeps it. A failure is
// not kept, so the next sign-in tries again (a provider that was down at
// Gatehouse's start does not need a restart).
func (p *oidcProvider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	// go-oidc keeps the context's client for its key set fetches too.
	disc, err := oidc.NewProvider(p.clientContext(context.WithoutCancel(ctx)), p.cfg.Issuer)
	if err != nil {
		return nil, &UpstreamError{Provider: p.cfg.ID, Reason: "its discovery document could not be loaded", Err: err}
	}
	p.disc = disc
	return disc, nil
}

func (p *oidcProvider) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.deps.HTTPClient)
}

func (p *oidcProvider) oauth2Config(disc *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: disc.Endpoint(), RedirectURL: redirectURI, Scopes: p.cfg.Scopes,
	}
}

// AuthURL builds the authorization request: code flow, S256 PKCE, state
// and nonce (OIDC Core §3.1.2.1), plus login_hint and max_age when the
// MCP client asked Gatehouse for them.
func (p *oidcProvider) AuthURL(ctx context.Context, r AuthRequest) (string, error) {
	disc, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier), oidc.Nonce(r.Nonce)}
	if r.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", r.LoginHint))
	}
	if r.MaxAge != nil {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(*r.MaxAge)))
	}
	return p.oauth2Config(disc, r.RedirectURI).AuthCodeURL(r.State, opts...), nil
}

// Exchange redeems the code with the PKCE verifier, verifies the ID token
// (signature by the provider's published keys with an allowed algorithm,
// iss, aud = our client_id, exp; then the nonce bound to this browser),
// maps its claims, fills missing ones from userinfo, and admits the user.
func (p *oidcProvider) Exchange(ctx context.Context, cb Callback) (Identity, error) {
	disc, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	upstream := func(reason string, err error) error {
		return &UpstreamError{Provider: p.cfg.ID, Reason: reason, Err: err}
	}
	cctx := p.clientContext(ctx)
	tok, err := p.oauth2Config(disc, cb.RedirectURI).Exchange(cctx, cb.Code, oauth2.VerifierOption(cb.Verifier))
	if err != nil {
		return Identity{}, upstream("the authorization code was not accepted", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return Identity{}, upstream("the token response has no ID token", nil)
	}
	verifier := disc.VerifierContext(cctx, &oidc.Config{
		ClientID: p.cfg.ClientID, SupportedSigningAlgs: idTokenAlgorithms, Now: p.deps.Now,
	})
	idt, err := verifier.Verify(cctx, rawID)
	if err != nil {
		return Identity{}, upstream("the ID token failed verification", err)
	}
	if idt.Nonce == "" || idt.Nonce != cb.Nonce {
		return Identity{}, upstream("the ID token's nonce does not match this browser's sign-in", nil)
	}
	var raw json.RawMessage
	if err := idt.Claims(&raw); err != nil {
		return Identity{}, upstream("the ID token's claims are unreadable", err)
	}
	id, err := MapClaims(raw, p.cfg.Claims)
	if err != nil {
		return Identity{}, upstream("the ID token's claims are unusable", err)
	}
	if id.Email == "" || id.Name == "" || id.Username == "" || id.Groups == nil {
		if id, err = p.withUserInfo(cctx, disc, tok, id); err != nil {
			return Identity{}, err
		}
	}
	var at struct {
		AuthTime int64 `json:"auth_time"`
	}
	if json.Unmarshal(raw, &at) == nil && at.AuthTime > 0 {
		id.AuthTime = time.Unix(at.AuthTime, 0)
	}
	id.Provider = p.cfg.ID
	return id, p.Admit(id)
}

// withUserInfo fills claims the ID token lacked from the userinfo endpoint
// (Google and Entra ID put groups and sometimes email only there). The
// answer must be about the same subject (OIDC Core §5.3.2).
func (p *oidcProvider) withUserInfo(ctx context.Context, disc *oidc.Provider, tok *oauth2.Token, id Identity) (Identity, error) {
	if disc.UserInfoEndpoint() == "" {
		return id, nil
	}
	ui, err := disc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return id, &UpstreamError{Provider: p.cfg.ID, Reason: "the userinfo endpoint failed", Err: err}
	}
	var raw json.RawMessage
	if err := ui.Claims(&raw); err != nil {
		return id, &UpstreamError{Provider: p.cfg.ID, Reason: "the userinfo answer is unreadable", Err: err}
	}
	more, err := MapClaims(raw, p.cfg.Claims)
	if err != nil {
		return id, &UpstreamError{Provider: p.cfg.ID, Reason: "the userinfo claims are unusable", Err: err}
	}
	if more.Subject != id.Subject {
		return id, &UpstreamError{Provider: p.cfg.ID, Reason: fmt.Sprintf("userinfo names another subject (%q)", more.Subject)}
	}
	if id.Email == "" {
		id.Email, id.EmailVerified = more.Email, more.EmailVerified
	}
	if id.Name == "" {
		id.Name = more.Name
	}
	if id.Username == "" {
		id.Username = more.Username
	}
	if id.Groups == nil {
		id.Groups = more.Groups
	}
	return id, nil
}

// Admit applies the admission rules.
func (p *oidcProvider) Admit(id Identity) error {
	return p.cfg.Admission.Check(p.cfg.ID, id)
}
