package server

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The refresh grant reads the token, its grant and the grant's user in
// one store read. A grant whose user is not there (deleting a user takes
// its grants, so only a damaged or hand-edited store has one) is refused
// and revoked, as when the user was read separately; the user's current
// record is what the refresh sees.
func TestRefreshOfAGrantWithoutItsUser(t *testing.T) {
	env := newOAuthEnv(t)
	ctx := context.Background()
	now := env.clock.Now()
	raw, rt, err := env.srv.newRefreshToken(now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rt.GrantID = "grant-orphan"
	if err := env.store.CreateCode(ctx, store.AuthCode{ID: "code-orphan", SecretHash: "h", ClientID: "public-app", UserID: "usr_gone",
		IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g := store.Grant{ID: "grant-orphan", ClientID: "public-app", UserID: "usr_gone", Resources: []string{testResource},
		AuthTime: now, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := env.store.RedeemCode(ctx, "code-orphan", now, g, rt); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {raw}, "client_id": {"public-app"}}
	r, body := env.token(form, "", "")
	wantOAuthError(t, r, body, 400, "invalid_grant")
	if d, _ := body["error_description"].(string); d != "the user of this grant no longer exists" {
		t.Fatalf("error_description = %q", d)
	}
	if _, _, err := env.store.RefreshTokenGrant(ctx, rt.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the grant without its user was not revoked: %v", err)
	}

	// A live user's grant refreshes; a wrong secret for a real token
	// ID is refused like an unknown token and revokes nothing.
	verifier, challenge := pkce()
	_, tokens := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier)
	good := tokens["refresh_token"].(string)
	id, _, _ := parseHandle(good, refreshPrefix)
	forged := refreshPrefix + id + "." + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if forged == good {
		t.Fatal("forged token equals the real one")
	}
	r, body = env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {forged}, "client_id": {"public-app"}}, "", "")
	wantOAuthError(t, r, body, 400, "invalid_grant")
	r, body = env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {good}, "client_id": {"public-app"}}, "", "")
	if r.StatusCode != 200 || body["refresh_token"] == nil {
		t.Fatalf("refresh of a live user's grant = %d %v", r.StatusCode, body)
	}
}

// The code exchange reads the code and its user in one store read. A code
// whose user is not there is refused and not redeemed; a live user's code
// whose password changed since is refused (the credential check sees the
// user's current record).
func TestExchangeOfACodeWithoutItsUser(t *testing.T) {
	env := newOAuthEnv(t)
	ctx := context.Background()
	now := env.clock.Now()
	verifier, challenge := pkce()
	raw, id, hash, err := env.srv.newHandle(codePrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.store.CreateCode(ctx, store.AuthCode{ID: id, SecretHash: hash, ClientID: "public-app", UserID: "usr_gone",
		RedirectURI: publicRedirect, RedirectURIGiven: true, CodeChallenge: challenge, Resources: []string{testResource},
		Credential: "c0ffee", AuthTime: now, IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r, body := env.exchange(raw, verifier)
	wantOAuthError(t, r, body, 400, "invalid_grant")
	if d, _ := body["error_description"].(string); d != "the user of this authorization code no longer exists" {
		t.Fatalf("error_description = %q", d)
	}
	if c, err := env.store.Code(ctx, id); err != nil || c.Redeemed() {
		t.Fatalf("the code of a missing user was redeemed (%+v, %v)", c, err)
	}

	// A real code, then a password change before its exchange.
	verifier, challenge = pkce()
	code := env.code(authzParams("public-app", publicRedirect, challenge))
	a := &Accounts{Store: env.store, Hasher: env.srv.passwords, Now: env.clock.Now}
	if _, err := a.SetPassword(ctx, testUser, "a brand new password", false); err != nil {
		t.Fatal(err)
	}
	r, body = env.exchange(code, verifier)
	wantOAuthError(t, r, body, 400, "invalid_grant")
	if d, _ := body["error_description"].(string); d != "the user's password changed after this authorization code was issued; authorize again" {
		t.Fatalf("error_description after a password change = %q", d)
	}
}
