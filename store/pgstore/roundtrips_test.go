package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// TestWritePathRoundTrips: with the database on the server's machine, a
// round trip costs more than the statement, so the write paths that run
// once per request take one statement each in the common case:
// registration, code creation, code redemption (grant and first refresh
// token included), the refresh token's read with its grant, refresh token
// rotation. Migrations and the pool's own
// statements are done before counting starts.
func TestWritePathRoundTrips(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	s, sent, err := pgstore.OpenCounting(ctx, pgstore.Options{URL: newURL(t), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := clock.Now()
	count := func(what string, want int64, fn func() error) {
		t.Helper()
		before := sent.Load()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := sent.Load() - before; got != want {
			t.Errorf("%s sent %d statements, want %d", what, got, want)
		}
	}
	count("CreateClient", 1, func() error {
		_, _, err := s.CreateClient(ctx, store.RegisteredClient{ID: "dcr_1", RegistrationTokenHash: "h", IssuedAt: now, UpdatedAt: now,
			ExpiresAt: now.Add(time.Hour), DedupKey: "k"}, "")
		return err
	})
	count("CreateCode", 1, func() error {
		return s.CreateCode(ctx, store.AuthCode{ID: "code", SecretHash: "h", ClientID: "app", UserID: "u", IssuedAt: now,
			ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(time.Hour)})
	})
	count("CodeUser", 1, func() error {
		c, u, err := s.CodeUser(ctx, "code")
		if err == nil && (c.ID != "code" || u != nil) {
			t.Errorf("CodeUser = %+v %+v (no user u stored)", c, u)
		}
		return err
	})
	g := store.Grant{ID: "g", ClientID: "app", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), LastUsedAt: now,
		AccessTokens: []store.IssuedToken{{JTI: "at-1", ExpiresAt: now.Add(10 * time.Minute)}}}
	count("RedeemCode", 1, func() error {
		return s.RedeemCode(ctx, "code", now, g, store.RefreshToken{ID: "rt-1", SecretHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	count("RefreshTokenGrant", 1, func() error {
		rt, g, err := s.RefreshTokenGrant(ctx, "rt-1")
		if err == nil && (rt.GrantID != "g" || g.ID != "g" || len(g.AccessTokens) != 1) {
			t.Errorf("RefreshTokenGrant = %+v %+v", rt, g)
		}
		return err
	})
	count("RefreshTokenGrantUser", 1, func() error {
		rt, g, u, err := s.RefreshTokenGrantUser(ctx, "rt-1")
		if err == nil && (rt.GrantID != "g" || g.ID != "g" || u != nil) {
			t.Errorf("RefreshTokenGrantUser = %+v %+v %+v (no user u stored)", rt, g, u)
		}
		return err
	})
	clock.Advance(time.Minute)
	var rot store.Rotation
	count("RotateRefreshToken", 1, func() (err error) {
		rot, err = s.RotateRefreshToken(ctx, "rt-1", clock.Now(), store.RefreshToken{ID: "rt-2", SecretHash: "h2", CreatedAt: clock.Now(),
			ExpiresAt: clock.Now().Add(time.Hour)}, store.IssuedToken{JTI: "at-2", ExpiresAt: clock.Now().Add(10 * time.Minute)}, 0)
		return err
	})
	if at := rot.Grant.AccessTokens; len(at) != 2 || at[1].JTI != "at-2" || !rot.Grant.LastUsedAt.Equal(clock.Now()) || rot.Grace {
		t.Fatalf("rotation = %+v", rot)
	}
	if next, err := s.RefreshToken(ctx, "rt-2"); err != nil || next.GrantID != "g" {
		t.Fatalf("new token = %+v %v, want it on grant g", next, err)
	}
	if old, err := s.RefreshToken(ctx, "rt-1"); err != nil || !old.RotatedAt.Equal(clock.Now()) {
		t.Fatalf("old token = %+v %v, want it marked rotated now", old, err)
	}
	// Later than the first access token's expiry: the grant forgets it.
	clock.Advance(15 * time.Minute)
	rot, err = s.RotateRefreshToken(ctx, "rt-2", clock.Now(), store.RefreshToken{ID: "rt-3", SecretHash: "h3", CreatedAt: clock.Now(),
		ExpiresAt: clock.Now().Add(time.Hour)}, store.IssuedToken{JTI: "at-3", ExpiresAt: clock.Now().Add(10 * time.Minute)}, 0)
	if err != nil || len(rot.Grant.AccessTokens) != 1 || rot.Grant.AccessTokens[0].JTI != "at-3" {
		t.Fatalf("after the first tokens expired: %+v %v, want only at-3", rot.Grant.AccessTokens, err)
	}
}
