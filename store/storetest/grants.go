package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

func newCode(clock *Clock, id string) store.AuthCode {
	now := clock.Now()
	return store.AuthCode{
		ID: id, ClientID: "client-1", RedirectURI: "https://app.example/cb", UserID: "u1",
		Scopes: []string{"read"}, Resources: []string{"https://rs.example/mcp"}, CodeChallenge: "ch",
		AuthTime: now, IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(11 * time.Minute),
		Nonce: "n-1", AMR: []string{"pwd"}, ACR: "urn:x:loa:1", Credential: "c0ffee",
	}
}

func newGrant(clock *Clock, id, user, client string) store.Grant {
	now := clock.Now()
	return store.Grant{
		ID: id, ClientID: client, UserID: user, Scopes: []string{"read"}, Resources: []string{"https://rs.example/mcp"},
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour), LastUsedAt: now,
		AccessTokens: []store.IssuedToken{{JTI: "at-" + id, ExpiresAt: now.Add(10 * time.Minute)}},
	}
}

func newRefresh(clock *Clock, id string) store.RefreshToken {
	return store.RefreshToken{ID: id, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(24 * time.Hour)}
}

func testCodes(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.RedeemCode(ctx, "missing", clock.Now(), newGrant(clock, "g0", "u1", "c"), store.RefreshToken{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeem a missing code: %v, want ErrNotFound", err)
	}
	c := newCode(clock, "code-1")
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCode(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate code: %v", err)
	}
	got, err := s.Code(ctx, "code-1")
	if err != nil || got.ClientID != "client-1" || got.Redeemed() || got.CodeChallenge != "ch" ||
		got.Nonce != "n-1" || len(got.AMR) != 1 || got.ACR != "urn:x:loa:1" || got.Credential != "c0ffee" {
		t.Fatalf("Code = %+v, %v", got, err)
	}
	g := newGrant(clock, "g1", "u1", "client-1")
	if err := s.RedeemCode(ctx, "code-1", clock.Now(), g, newRefresh(clock, "rt-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code-1", clock.Now(), newGrant(clock, "g2", "u1", "client-1"), store.RefreshToken{}); !errors.Is(err, store.ErrAlreadyRedeemed) {
		t.Fatalf("second redemption: %v, want ErrAlreadyRedeemed", err)
	}
	if _, err := s.Grant(ctx, "g2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused redemption stored its grant")
	}
	got, _ = s.Code(ctx, "code-1")
	if !got.Redeemed() || got.GrantID != "g1" {
		t.Fatalf("redeemed code = %+v", got)
	}
	if rt, err := s.RefreshToken(ctx, "rt-1"); err != nil || rt.GrantID != "g1" {
		t.Fatalf("refresh token = %+v, %v", rt, err)
	}
	if gg, err := s.Grant(ctx, "g1"); err != nil || len(gg.AccessTokens) != 1 {
		t.Fatalf("grant = %+v, %v", gg, err)
	}
	// An expired code cannot be redeemed, but stays readable for replay
	// detection until KeepUntil.
	exp := newCode(clock, "code-2")
	if err := s.CreateCode(ctx, exp); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := s.RedeemCode(ctx, "code-2", clock.Now(), newGrant(clock, "g3", "u1", "client-1"), store.RefreshToken{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired code: %v, want ErrNotFound", err)
	}
	if _, err := s.Code(ctx, "code-1"); err != nil {
		t.Fatalf("redeemed code gone before KeepUntil: %v", err)
	}
	clock.Advance(10 * time.Minute)
	if _, err := s.Code(ctx, "code-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("code after KeepUntil: %v", err)
	}
	if n, err := s.Sweep(ctx, clock.Now()); err != nil || n.Removed != 2 {
		t.Fatalf("sweep = %d, %v; want both codes", n.Removed, err)
	}
}

// testConcurrentRedemption: many exchanges of one code race; exactly one
// wins. Many exchanges of different codes all win (shared commits must not
// mix them up).
func testConcurrentRedemption(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateCode(ctx, newCode(clock, "hot")); err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("g%d", i)
			results <- s.RedeemCode(ctx, "hot", clock.Now(), newGrant(clock, id, "u1", "c"), newRefresh(clock, "rt-"+id))
		}()
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyRedeemed):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d redemptions of one code succeeded, want exactly 1", wins)
	}
	if gs, _ := s.GrantsByClient(ctx, "c"); len(gs) != 1 {
		t.Fatalf("%d grants stored, want 1", len(gs))
	}
	for i := range n {
		if err := s.CreateCode(ctx, newCode(clock, fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("d%d", i)
			errs <- s.RedeemCode(ctx, fmt.Sprintf("c%d", i), clock.Now(), newGrant(clock, id, "u2", "d"), newRefresh(clock, "rt-"+id))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("independent redemption failed: %v", err)
		}
	}
	if gs, _ := s.GrantsByClient(ctx, "d"); len(gs) != n {
		t.Fatalf("%d grants for %d independent codes", len(gs), n)
	}
}

// testRefreshTokenGrant: the token and its grant in one read, until
// either is gone or expired.
func testRefreshTokenGrant(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateCode(ctx, newCode(clock, "code")); err != nil {
		t.Fatal(err)
	}
	g := newGrant(clock, "g", "u1", "client-1")
	g.ExpiresAt = clock.Now().Add(2 * time.Hour)
	rt := newRefresh(clock, "rt1")
	rt.SecretHash = "hash-1"
	if err := s.RedeemCode(ctx, "code", clock.Now(), g, rt); err != nil {
		t.Fatal(err)
	}
	gotRT, gotG, err := s.RefreshTokenGrant(ctx, "rt1")
	if err != nil || gotRT.ID != "rt1" || gotRT.SecretHash != "hash-1" || gotRT.GrantID != "g" || gotG.ID != "g" ||
		gotG.ClientID != "client-1" || gotG.UserID != "u1" || len(gotG.AccessTokens) != 1 {
		t.Fatalf("RefreshTokenGrant = %+v %+v %v", gotRT, gotG, err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing token: %v, want ErrNotFound", err)
	}
	// A rotated token still reads (reuse detection needs it), with its grant.
	if _, err := s.RotateRefreshToken(ctx, "rt1", clock.Now(), newRefresh(clock, "rt2"), store.IssuedToken{}, 0); err != nil {
		t.Fatal(err)
	}
	if gotRT, gotG, err = s.RefreshTokenGrant(ctx, "rt1"); err != nil || gotRT.RotatedAt.IsZero() || gotG.ID != "g" {
		t.Fatalf("rotated token = %+v %+v %v", gotRT, gotG, err)
	}
	// The grant ends before the token's idle expiry: the pair is gone.
	clock.Advance(3 * time.Hour)
	if _, err := s.RefreshToken(ctx, "rt2"); err != nil {
		t.Fatalf("token itself still live: %v", err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of an expired grant: %v, want ErrNotFound", err)
	}
	// A revoked grant takes its tokens with it.
	if err := s.CreateCode(ctx, newCode(clock, "code2")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code2", clock.Now(), newGrant(clock, "g2", "u1", "client-1"), newRefresh(clock, "rt3")); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RefreshTokenGrant(ctx, "rt3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a revoked grant: %v, want ErrNotFound", err)
	}
	// And an expired token is gone whatever its grant.
	if err := s.CreateCode(ctx, newCode(clock, "code3")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code3", clock.Now(), newGrant(clock, "g3", "u1", "client-1"), newRefresh(clock, "rt4")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	if _, _, err := s.RefreshTokenGrant(ctx, "rt4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token: %v, want ErrNotFound", err)
	}
}

func testRefreshRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateCode(ctx, newCode(clock, "code")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code", clock.Now(), newGrant(clock, "g", "u1", "client-1"), newRefresh(clock, "rt1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	at2 := store.IssuedToken{JTI: "at-2", ExpiresAt: clock.Now().Add(10 * time.Minute)}
	rot, err := s.RotateRefreshToken(ctx, "rt1", clock.Now(), newRefresh(clock, "rt2"), at2, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := rot.Grant
	if rot.Grace {
		t.Fatal("a first rotation reported as a grace use")
	}
	if !g.LastUsedAt.Equal(clock.Now()) || len(g.AccessTokens) != 2 || g.AccessTokens[1].JTI != "at-2" {
		t.Fatalf("grant after rotation = %+v", g)
	}
	if rt, _ := s.RefreshToken(ctx, "rt1"); rt.RotatedAt.IsZero() {
		t.Fatal("old refresh token not marked rotated")
	}
	// Expired access tokens are pruned from the grant on the next rotation.
	clock.Advance(9 * time.Minute)
	at3 := store.IssuedToken{JTI: "at-3", ExpiresAt: clock.Now().Add(10 * time.Minute)}
	rot, err = s.RotateRefreshToken(ctx, "rt2", clock.Now(), newRefresh(clock, "rt3"), at3, 0)
	g = rot.Grant
	if err != nil || len(g.AccessTokens) != 2 || g.AccessTokens[0].JTI != "at-2" {
		t.Fatalf("after second rotation = %+v, %v; want at-1 pruned", g.AccessTokens, err)
	}
	// Reuse of a rotated token revokes the grant and its access tokens.
	_, err = s.RotateRefreshToken(ctx, "rt1", clock.Now(), newRefresh(clock, "rt-x"), store.IssuedToken{}, 0)
	if !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("reuse: %v, want ErrRefreshReused", err)
	}
	if _, err := s.Grant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("grant survives refresh reuse")
	}
	for _, jti := range []string{"at-2", "at-3"} {
		if revoked, _ := s.AccessTokenRevoked(ctx, jti); !revoked {
			t.Fatalf("access token %s of the revoked grant is not revoked", jti)
		}
	}
	if _, err := s.RotateRefreshToken(ctx, "rt3", clock.Now(), newRefresh(clock, "rt4"), store.IssuedToken{}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("current token of a revoked grant: %v, want ErrNotFound", err)
	}
	if _, err := s.RefreshToken(ctx, "rt-x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the reuse attempt stored its new token")
	}
	// Revocation records expire with the tokens.
	clock.Advance(11 * time.Minute)
	if revoked, _ := s.AccessTokenRevoked(ctx, "at-3"); revoked {
		t.Fatal("revocation record outlives the token")
	}
}

func testConcurrentRefresh(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateCode(ctx, newCode(clock, "code")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code", clock.Now(), newGrant(clock, "g", "u1", "c"), newRefresh(clock, "rt")); err != nil {
		t.Fatal(err)
	}
	const n = 32
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RotateRefreshToken(ctx, "rt", clock.Now(), newRefresh(clock, fmt.Sprintf("next-%d", i)), store.IssuedToken{}, 0)
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrRefreshReused), errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent rotations succeeded, want 1", wins)
	}
	// Every loser presented a rotated token: the grant is gone.
	if _, err := s.Grant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("grant survives concurrent reuse")
	}
}

func testGrantExpiryAndIndexes(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	g := newGrant(clock, "g1", "u1", "c1")
	g.ExpiresAt = clock.Now().Add(time.Hour)
	for _, x := range []store.Grant{g, newGrant(clock, "g2", "u1", "c2"), newGrant(clock, "g3", "u2", "c1")} {
		if err := s.CreateGrant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if gs, _ := s.GrantsByUser(ctx, "u1"); len(gs) != 2 {
		t.Fatalf("GrantsByUser(u1) = %d", len(gs))
	}
	if gs, _ := s.GrantsByClient(ctx, "c1"); len(gs) != 2 {
		t.Fatalf("GrantsByClient(c1) = %d", len(gs))
	}
	clock.Advance(time.Hour)
	if n, err := s.Sweep(ctx, clock.Now()); err != nil || n.Removed != 1 {
		t.Fatalf("sweep = %d, %v", n.Removed, err)
	}
	if gs, _ := s.GrantsByUser(ctx, "u1"); len(gs) != 1 || gs[0].ID != "g2" {
		t.Fatalf("after expiry GrantsByUser(u1) = %+v", gs)
	}
	if err := s.RevokeGrant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke expired grant: %v", err)
	}
	if err := s.CreateGrant(ctx, newGrant(clock, "g4", "u3", "c1")); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeClientGrants(ctx, "c1")
	if err != nil || n != 2 {
		t.Fatalf("RevokeClientGrants = %d, %v; want g3 and g4", n, err)
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "at-g4"); !revoked {
		t.Fatal("client revocation left its live access token valid")
	}
	if gs, _ := s.GrantsByClient(ctx, "c1"); len(gs) != 0 {
		t.Fatalf("grants left after RevokeClientGrants: %+v", gs)
	}
	if err := s.RevokeAccessToken(ctx, store.IssuedToken{JTI: "solo", ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "solo"); !revoked {
		t.Fatal("RevokeAccessToken not recorded")
	}
}

func testConsents(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	c := store.Consent{UserID: "u1", ClientID: "https://app.example/client.json", Scopes: []string{"read"},
		Resources: []string{"https://rs.example/mcp"}, Fingerprint: "f1", GrantedAt: clock.Now()}
	if err := s.PutConsent(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Scopes = []string{"read", "write"}
	if err := s.PutConsent(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: "other", Fingerprint: "f"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, "u1", c.ClientID)
	if err != nil || len(got.Scopes) != 2 || got.Fingerprint != "f1" {
		t.Fatalf("Consent = %+v, %v", got, err)
	}
	if list, _ := s.ConsentsByUser(ctx, "u1"); len(list) != 2 {
		t.Fatalf("ConsentsByUser = %+v", list)
	}
	if list, _ := s.ConsentsByUser(ctx, "u"); len(list) != 0 {
		t.Fatalf("prefix of another user id matched: %+v", list)
	}
	for _, g := range []store.Grant{newGrant(clock, "g1", "u1", c.ClientID), newGrant(clock, "g2", "u1", "other"), newGrant(clock, "g3", "u2", c.ClientID)} {
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeConsent(ctx, "u1", c.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consent(ctx, "u1", c.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("consent survives revocation")
	}
	if _, err := s.Grant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("revoking consent left the user's grant to that client")
	}
	for _, id := range []string{"g2", "g3"} {
		if _, err := s.Grant(ctx, id); err != nil {
			t.Fatalf("revoking one consent removed unrelated grant %s", id)
		}
	}
	if err := s.RevokeConsent(ctx, "u1", c.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

func testDeleteUserCascades(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGrant(ctx, newGrant(clock, "g1", "u1", "c")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: "c", Fingerprint: "f"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Grant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted user's grant survives")
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "at-g1"); !revoked {
		t.Fatal("deleted user's access token not revoked")
	}
	if list, _ := s.ConsentsByUser(ctx, "u1"); len(list) != 0 {
		t.Fatal("deleted user's consent survives")
	}
}

func testAssertionReplay(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	exp := clock.Now().Add(5 * time.Minute)
	if err := s.UseAssertionID(ctx, "c1", "jti-1", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.UseAssertionID(ctx, "c1", "jti-1", exp); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replayed jti: %v, want ErrConflict", err)
	}
	if err := s.UseAssertionID(ctx, "c2", "jti-1", exp); err != nil {
		t.Fatalf("same jti from another client: %v", err)
	}
	clock.Advance(5 * time.Minute)
	if err := s.UseAssertionID(ctx, "c1", "jti-1", clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("jti after its expiry: %v", err)
	}
}
