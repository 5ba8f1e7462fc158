package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testRefreshTokenGrantUser: the token, its grant and the grant's user in
// one read; no user for a grant whose user is not there (or that names
// none); ErrNotFound whenever RefreshTokenGrant says so.
func testRefreshTokenGrantUser(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Name: "alice", PasswordHash: "h1"}); err != nil {
		t.Fatal(err)
	}
	redeem := func(code, grant, user, refresh string) {
		t.Helper()
		if err := s.CreateCode(ctx, newCode(clock, code)); err != nil {
			t.Fatal(err)
		}
		g := newGrant(clock, grant, user, "client-1")
		g.ExpiresAt = clock.Now().Add(2 * time.Hour)
		if err := s.RedeemCode(ctx, code, clock.Now(), g, newRefresh(clock, refresh)); err != nil {
			t.Fatal(err)
		}
	}
	redeem("c1", "g1", "u1", "rt1")
	redeem("c2", "g2", "u-gone", "rt2")
	redeem("c3", "g3", "", "rt3")

	rt, g, u, err := s.RefreshTokenGrantUser(ctx, "rt1")
	if err != nil || rt.ID != "rt1" || rt.GrantID != "g1" || g.ID != "g1" || g.UserID != "u1" || len(g.AccessTokens) != 1 {
		t.Fatalf("RefreshTokenGrantUser = %+v %+v %v", rt, g, err)
	}
	if u == nil || u.ID != "u1" || u.Name != "alice" || u.PasswordHash != "h1" {
		t.Fatalf("user = %+v, want alice", u)
	}
	for _, id := range []string{"rt2", "rt3"} {
		if rt, g, u, err := s.RefreshTokenGrantUser(ctx, id); err != nil || rt.ID != id || g.ID == "" || u != nil {
			t.Fatalf("%s: %+v %+v user %+v %v, want the token and grant with no user", id, rt, g, u, err)
		}
	}
	if _, _, u, err := s.RefreshTokenGrantUser(ctx, "missing"); !errors.Is(err, store.ErrNotFound) || u != nil {
		t.Fatalf("missing token: %v, want ErrNotFound", err)
	}
	// The user's current record, not the one at issue.
	if err := s.SetPassword(ctx, "alice", "h2", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, u, err := s.RefreshTokenGrantUser(ctx, "rt1"); err != nil || u == nil || u.PasswordHash != "h2" {
		t.Fatalf("after a password change: %+v %v", u, err)
	}
	// A rotated token still reads, with its grant and user.
	if _, err := s.RotateRefreshToken(ctx, "rt1", clock.Now(), newRefresh(clock, "rt1b"), store.IssuedToken{}, 0); err != nil {
		t.Fatal(err)
	}
	if rt, _, u, err := s.RefreshTokenGrantUser(ctx, "rt1"); err != nil || rt.RotatedAt.IsZero() || u == nil {
		t.Fatalf("rotated token = %+v %+v %v", rt, u, err)
	}
	// A revoked grant, an expired grant: gone.
	if err := s.RevokeGrant(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.RefreshTokenGrantUser(ctx, "rt2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a revoked grant: %v, want ErrNotFound", err)
	}
	clock.Advance(3 * time.Hour)
	if _, _, _, err := s.RefreshTokenGrantUser(ctx, "rt1b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of an expired grant: %v, want ErrNotFound", err)
	}
	// A token past its own expiry, of a grant that lives on: gone.
	clock.Advance(-3 * time.Hour)
	if err := s.CreateCode(ctx, newCode(clock, "c5")); err != nil {
		t.Fatal(err)
	}
	short := newRefresh(clock, "rt5")
	short.ExpiresAt = clock.Now().Add(time.Hour)
	if err := s.RedeemCode(ctx, "c5", clock.Now(), newGrant(clock, "g5", "u1", "client-1"), short); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, _, _, err := s.RefreshTokenGrantUser(ctx, "rt5"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token past its own expiry: %v, want ErrNotFound", err)
	}
	if _, err := s.Grant(ctx, "g5"); err != nil {
		t.Fatalf("the grant of the expired token: %v, want it live", err)
	}
	clock.Advance(-2 * time.Hour)
	// Deleting the user takes its grants, and so the token.
	redeem("c4", "g4", "u1", "rt4")
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.RefreshTokenGrantUser(ctx, "rt4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a deleted user: %v, want ErrNotFound", err)
	}
}

// testCodeUser: the code and its user in one read; no user for a code
// whose user is not there (or that names none); the code's own life rules
// (KeepUntil, redeemed codes still read) as Code.
func testCodeUser(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Name: "alice", PasswordHash: "h1"}); err != nil {
		t.Fatal(err)
	}
	create := func(id, user string) {
		t.Helper()
		c := newCode(clock, id)
		c.UserID = user
		if err := s.CreateCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	create("c1", "u1")
	create("c2", "u-gone")
	create("c3", "")
	c, u, err := s.CodeUser(ctx, "c1")
	if err != nil || c.ID != "c1" || c.UserID != "u1" || c.Credential != "c0ffee" || c.CodeChallenge != "ch" {
		t.Fatalf("CodeUser = %+v %v", c, err)
	}
	if u == nil || u.ID != "u1" || u.Name != "alice" || u.PasswordHash != "h1" {
		t.Fatalf("user = %+v, want alice", u)
	}
	for _, id := range []string{"c2", "c3"} {
		if c, u, err := s.CodeUser(ctx, id); err != nil || c.ID != id || u != nil {
			t.Fatalf("%s: %+v user %+v %v, want the code with no user", id, c, u, err)
		}
	}
	if _, u, err := s.CodeUser(ctx, "missing"); !errors.Is(err, store.ErrNotFound) || u != nil {
		t.Fatalf("missing code: %v, want ErrNotFound", err)
	}
	// The user's current record: a password change shows.
	if err := s.SetPassword(ctx, "alice", "h2", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, u, err := s.CodeUser(ctx, "c1"); err != nil || u == nil || u.PasswordHash != "h2" {
		t.Fatalf("after a password change: %+v %v", u, err)
	}
	// A redeemed code still reads (replay detection needs it), until KeepUntil.
	if err := s.RedeemCode(ctx, "c1", clock.Now(), newGrant(clock, "g1", "u1", "client-1"), newRefresh(clock, "rt1")); err != nil {
		t.Fatal(err)
	}
	if c, u, err := s.CodeUser(ctx, "c1"); err != nil || !c.Redeemed() || c.GrantID != "g1" || u == nil {
		t.Fatalf("redeemed code = %+v %+v %v", c, u, err)
	}
	clock.Advance(11 * time.Minute)
	if _, _, err := s.CodeUser(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("code past KeepUntil: %v, want ErrNotFound", err)
	}
}
