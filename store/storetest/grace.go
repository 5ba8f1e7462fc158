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

// graceSetup stores grant g with refresh token rt, issued now.
func graceSetup(t *testing.T, s store.Store, clock *Clock) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateCode(ctx, newCode(clock, "code")); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "code", clock.Now(), newGrant(clock, "g", "u1", "client-1"), newRefresh(clock, "rt")); err != nil {
		t.Fatal(err)
	}
}

// testRefreshGrace: within the grace period a rotated token is exchanged
// again without revoking anything; the window counts from the first
// rotation and never extends; past it, reuse revokes as without grace.
func testRefreshGrace(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const grace = 10 * time.Second
	graceSetup(t, s, clock)
	rotatedAt := clock.Now()
	first, err := s.RotateRefreshToken(ctx, "rt", rotatedAt, newRefresh(clock, "rt-a"), store.IssuedToken{JTI: "at-a", ExpiresAt: rotatedAt.Add(10 * time.Minute)}, grace)
	if err != nil || first.Grace {
		t.Fatalf("first rotation = %+v, %v; want a plain rotation", first, err)
	}
	steps := []struct {
		after time.Duration // since the first rotation
		next  string
	}{
		{0, "rt-b"},
		{4 * time.Second, "rt-c"},
		{grace, "rt-d"}, // the boundary is inside: now - RotatedAt <= grace
	}
	for _, st := range steps {
		now := rotatedAt.Add(st.after)
		rot, err := s.RotateRefreshToken(ctx, "rt", now, newRefresh(clock, st.next), store.IssuedToken{JTI: "at-" + st.next, ExpiresAt: now.Add(10 * time.Minute)}, grace)
		if err != nil {
			t.Fatalf("reuse %s after rotation: %v, want a grace exchange", st.after, err)
		}
		if !rot.Grace || !rot.RotatedAt.Equal(rotatedAt) {
			t.Fatalf("reuse %s after rotation = Grace %v RotatedAt %v; want Grace at %v", st.after, rot.Grace, rot.RotatedAt, rotatedAt)
		}
		if !rot.Grant.LastUsedAt.Equal(now) || rot.Grant.AccessTokens[len(rot.Grant.AccessTokens)-1].JTI != "at-"+st.next {
			t.Fatalf("grace exchange did not record its access token on the grant: %+v", rot.Grant)
		}
		if nt, err := s.RefreshToken(ctx, st.next); err != nil || nt.GrantID != "g" || !nt.RotatedAt.IsZero() {
			t.Fatalf("token issued in grace = %+v, %v; want a live token of grant g", nt, err)
		}
	}
	if old, _ := s.RefreshToken(ctx, "rt"); !old.RotatedAt.Equal(rotatedAt) {
		t.Fatalf("grace uses moved RotatedAt to %v; the window must count from the first rotation %v", old.RotatedAt, rotatedAt)
	}
	// Every token handed out is usable on its own.
	if _, err := s.RotateRefreshToken(ctx, "rt-b", rotatedAt.Add(grace), newRefresh(clock, "rt-b2"), store.IssuedToken{}, grace); err != nil {
		t.Fatalf("a token issued in grace does not rotate: %v", err)
	}
	// One nanosecond past the window: reuse, and the grant is revoked.
	late := rotatedAt.Add(grace + time.Nanosecond)
	_, err = s.RotateRefreshToken(ctx, "rt", late, newRefresh(clock, "rt-late"), store.IssuedToken{}, grace)
	if !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("reuse after the grace period: %v, want ErrRefreshReused", err)
	}
	if _, err := s.Grant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("grant survives reuse after the grace period")
	}
	for _, jti := range []string{"at-a", "at-rt-b", "at-rt-c", "at-rt-d"} {
		if revoked, _ := s.AccessTokenRevoked(ctx, jti); !revoked {
			t.Fatalf("access token %s of the revoked grant is not revoked", jti)
		}
	}
	if _, err := s.RefreshToken(ctx, "rt-late"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the refused reuse stored its new token")
	}
}

// testRefreshGraceStrict: a grace of 0 is today's behaviour, whatever the
// timing.
func testRefreshGraceStrict(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	graceSetup(t, s, clock)
	now := clock.Now()
	if _, err := s.RotateRefreshToken(ctx, "rt", now, newRefresh(clock, "rt-a"), store.IssuedToken{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, "rt", now, newRefresh(clock, "rt-b"), store.IssuedToken{}, 0); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("immediate reuse with no grace: %v, want ErrRefreshReused", err)
	}
	if _, err := s.Grant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("grant survives reuse with no grace")
	}
}

// testConcurrentRefreshGrace: any number of concurrent exchanges of one
// token within the grace period all succeed, exactly one of them is the
// rotation, each gets its own token, and nothing is revoked.
func testConcurrentRefreshGrace(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	graceSetup(t, s, clock)
	const n = 32
	now := clock.Now()
	var wg sync.WaitGroup
	type result struct {
		rot store.Rotation
		err error
	}
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := store.IssuedToken{JTI: fmt.Sprintf("at-%d", i), ExpiresAt: now.Add(10 * time.Minute)}
			rot, err := s.RotateRefreshToken(ctx, "rt", now, newRefresh(clock, fmt.Sprintf("next-%d", i)), at, 30*time.Second)
			results[i] = result{rot, err}
		}()
	}
	wg.Wait()
	plain := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("exchange %d: %v; want every exchange within the grace period to succeed", i, r.err)
		}
		if !r.rot.Grace {
			plain++
		}
		if rt, err := s.RefreshToken(ctx, fmt.Sprintf("next-%d", i)); err != nil || rt.GrantID != "g" {
			t.Fatalf("token of exchange %d = %+v, %v", i, rt, err)
		}
	}
	if plain != 1 {
		t.Fatalf("%d exchanges were plain rotations, want exactly 1 (the others are grace uses)", plain)
	}
	g, err := s.Grant(ctx, "g")
	if err != nil {
		t.Fatalf("grant after concurrent refreshes in grace: %v; nothing may be revoked", err)
	}
	// Every access token issued is recorded on the grant (none lost to a
	// concurrent write), so revoking the grant later revokes all of them.
	seen := map[string]bool{}
	for _, at := range g.AccessTokens {
		seen[at.JTI] = true
	}
	for i := range n {
		if jti := fmt.Sprintf("at-%d", i); !seen[jti] {
			t.Fatalf("access token %s missing from the grant (lost update)", jti)
		}
		if revoked, _ := s.AccessTokenRevoked(ctx, fmt.Sprintf("at-%d", i)); revoked {
			t.Fatalf("access token at-%d revoked", i)
		}
	}
}
