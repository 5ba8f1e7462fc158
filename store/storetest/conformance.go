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

// Opener returns a fresh, empty store whose reads use clock.Now. The
// backend closes it in t.Cleanup.
type Opener func(t *testing.T, clock *Clock) store.Store

// Run runs every conformance test against the backend.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, clock *Clock)
	}{
		{"Meta", testMeta},
		{"SecretRace", testSecretRace},
		{"SigningKeyRotation", testSigningKeyRotation},
		{"SigningKeyPublishAhead", testSigningKeyPublishAhead},
		{"FirstSigningKey", testFirstSigningKey},
		{"Users", testUsers},
		{"DeleteUserEndsSessions", testDeleteUserEndsSessions},
		{"Sessions", testSessions},
		{"SweepManyRecords", testSweepMany},
		{"Codes", testCodes},
		{"ConcurrentRedemption", testConcurrentRedemption},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshTokenGrant", testRefreshTokenGrant},
		{"RefreshTokenGrantUser", testRefreshTokenGrantUser},
		{"CodeUser", testCodeUser},
		{"ConcurrentRefresh", testConcurrentRefresh},
		{"RefreshGrace", testRefreshGrace},
		{"PendingRequests", testPendingRequests},
		{"RefreshGraceStrict", testRefreshGraceStrict},
		{"ConcurrentRefreshGrace", testConcurrentRefreshGrace},
		{"GrantExpiryAndIndexes", testGrantExpiryAndIndexes},
		{"Consents", testConsents},
		{"ClientConsentsGo", testClientConsentsGo},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"AssertionReplay", testAssertionReplay},
		{"Clients", testClients},
		{"ClientDedupAndActivity", testClientDedupAndActivity},
		{"ConcurrentIdenticalRegistrations", testConcurrentIdenticalRegistrations},
		{"InitialAccessTokens", testInitialAccessTokens},
		{"Identities", testIdentities},
		{"ConcurrentProvisioning", testConcurrentProvisioning},
		{"Approvals", testApprovals},
		{"ApprovalGoesWithClient", testApprovalGoesWithClient},
		{"ConcurrentApprovalRequests", testConcurrentApprovalRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock()
			tt.fn(t, open(t, clock), clock)
		})
	}
}

func testMeta(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != store.SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, store.SchemaVersion)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	calls := 0
	gen := func() ([]byte, error) { calls++; return []byte(fmt.Sprintf("secret-%d", calls)), nil }
	first, err := s.Secret(ctx, "csrf", gen)
	if err != nil || string(first) != "secret-1" {
		t.Fatalf("Secret first = %q, %v", first, err)
	}
	again, err := s.Secret(ctx, "csrf", gen)
	if err != nil || string(again) != "secret-1" || calls != 1 {
		t.Fatalf("Secret again = %q, %v (generate called %d times); want the stored value", again, err, calls)
	}
	boom := errors.New("no entropy")
	if _, err := s.Secret(ctx, "other", func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("Secret with failing generator: err = %v, want %v", err, boom)
	}
}

func testSecretRace(t *testing.T, s store.Store, _ *Clock) {
	ctx := context.Background()
	const n = 16
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Secret(ctx, "race", func() ([]byte, error) { return []byte(fmt.Sprint(i)), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = string(v)
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("racing callers got different secrets: %q", got)
		}
	}
}

func testSigningKeyRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("fresh store keys = %v, %v", keys, err)
	}
	k1 := store.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte{1, 2, 3}, CreatedAt: clock.Now()}
	if err := s.RotateSigningKey(ctx, k1, time.Time{}); err != nil {
		t.Fatalf("first key: %v", err)
	}
	if err := s.RotateSigningKey(ctx, k1, time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same key twice: err = %v, want ErrConflict", err)
	}
	clock.Advance(time.Hour)
	publishUntil := clock.Now().Add(15 * time.Minute)
	k2 := store.SigningKey{ID: "k2", Algorithm: "ES256", PrivateKey: []byte{4}, CreatedAt: clock.Now()}
	if err := s.RotateSigningKey(ctx, k2, publishUntil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	keys, err = s.SigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("after rotation keys = %d, %v; want 2", len(keys), err)
	}
	if keys[0].ID != "k2" || !keys[0].Active() {
		t.Fatalf("newest key = %+v, want active k2 first", keys[0])
	}
	old := keys[1]
	if old.ID != "k1" || old.Active() || !old.RetiredAt.Equal(k2.CreatedAt) || !old.PublishUntil.Equal(publishUntil) {
		t.Fatalf("retired key = %+v, want k1 retired at %v until %v", old, k2.CreatedAt, publishUntil)
	}
	if string(old.PrivateKey) != "\x01\x02\x03" {
		t.Fatalf("private key bytes changed: %v", old.PrivateKey)
	}
	clock.Advance(15 * time.Minute)
	keys, _ = s.SigningKeys(ctx)
	if len(keys) != 1 || keys[0].ID != "k2" {
		t.Fatalf("after PublishUntil keys = %+v, want only k2", keys)
	}
	if n, err := s.Sweep(ctx, clock.Now()); err != nil || n.Removed != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n.Removed, err)
	}
}

func testUsers(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	bob := store.User{ID: "u-bob", Name: "bob", PasswordHash: "h1", CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	alice := store.User{ID: "u-alice", Name: "alice", PasswordHash: "h2", CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	for _, u := range []store.User{bob, alice} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	if err := s.CreateUser(ctx, store.User{ID: "u-other", Name: "bob"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u-bob", Name: "robert"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate ID: err = %v, want ErrConflict", err)
	}
	got, err := s.UserByName(ctx, "bob")
	if err != nil || got.ID != "u-bob" || got.PasswordHash != "h1" {
		t.Fatalf("UserByName = %+v, %v", got, err)
	}
	got, err = s.UserByID(ctx, "u-alice")
	if err != nil || got.Name != "alice" {
		t.Fatalf("UserByID = %+v, %v", got, err)
	}
	if _, err := s.UserByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: err = %v, want ErrNotFound", err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Fatalf("ListUsers = %+v, %v; want alice, bob", list, err)
	}
	clock.Advance(time.Minute)
	if err := s.SetPassword(ctx, "bob", "h3", clock.Now()); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserByName(ctx, "bob")
	if got.PasswordHash != "h3" || !got.UpdatedAt.Equal(clock.Now()) || !got.CreatedAt.Equal(bob.CreatedAt) {
		t.Fatalf("after SetPassword = %+v", got)
	}
	if err := s.SetPassword(ctx, "carol", "x", clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword missing: err = %v", err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, "u-bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user by ID: err = %v", err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: err = %v, want ErrNotFound", err)
	}
	// The name is free again, under a new ID.
	if err := s.CreateUser(ctx, store.User{ID: "u-bob2", Name: "bob"}); err != nil {
		t.Fatalf("re-create deleted name: %v", err)
	}
}

func testDeleteUserEndsSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for _, u := range []store.User{{ID: "u1", Name: "one"}, {ID: "u2", Name: "two"}} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	exp := clock.Now().Add(time.Hour)
	for _, sess := range []store.Session{
		{ID: "s1", UserID: "u1", AuthTime: clock.Now(), ExpiresAt: exp},
		{ID: "s2", UserID: "u1", AuthTime: clock.Now(), ExpiresAt: exp},
		{ID: "s3", UserID: "u2", AuthTime: clock.Now(), ExpiresAt: exp},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s of deleted user: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.Session(ctx, "s3"); err != nil {
		t.Fatalf("other user's session: %v", err)
	}
}

func testSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	sess := store.Session{ID: "sid", UserID: "u1", AuthTime: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour), AMR: []string{"pwd"}, ACR: "urn:x:loa:1",
		Credential: "c0ffee"}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, sess); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate session: err = %v, want ErrConflict", err)
	}
	got, err := s.Session(ctx, "sid")
	if err != nil || got.UserID != "u1" || !got.AuthTime.Equal(sess.AuthTime) || !got.ExpiresAt.Equal(sess.ExpiresAt) ||
		len(got.AMR) != 1 || got.AMR[0] != "pwd" || got.ACR != sess.ACR || got.Credential != "c0ffee" {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	clock.Advance(59 * time.Minute)
	if _, err := s.Session(ctx, "sid"); err != nil {
		t.Fatalf("session before expiry: %v", err)
	}
	if res, _ := s.Sweep(ctx, clock.Now()); res.Removed != 0 {
		t.Fatalf("Sweep before expiry removed %d", res.Removed)
	}
	clock.Advance(time.Minute)
	if _, err := s.Session(ctx, "sid"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: err = %v, want ErrNotFound (before any sweep)", err)
	}
	if n, err := s.Sweep(ctx, clock.Now()); err != nil || n.Removed != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n.Removed, err)
	}
	if res, _ := s.Sweep(ctx, clock.Now()); res.Removed != 0 {
		t.Fatalf("second Sweep removed %d more", res.Removed)
	}
	if err := s.DeleteSession(ctx, "sid"); err != nil {
		t.Fatalf("DeleteSession of a swept session: %v", err)
	}
	live := store.Session{ID: "live", UserID: "u1", AuthTime: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, live); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "live"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: err = %v", err)
	}
	// Signing a user out everywhere removes their sessions, and no one
	// else's.
	for _, id := range []string{"eve-1", "eve-2", "eve-3"} {
		if err := s.CreateSession(ctx, store.Session{ID: id, UserID: "u-eve", AuthTime: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, store.Session{ID: "other-1", UserID: "u-evelyn", AuthTime: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteUserSessions(ctx, "u-eve"); err != nil || n != 3 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 3", n, err)
	}
	for _, id := range []string{"eve-1", "eve-2", "eve-3"} {
		if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s after DeleteUserSessions: err = %v", id, err)
		}
	}
	if _, err := s.Session(ctx, "other-1"); err != nil {
		t.Fatalf("another user's session (a name sharing the prefix) after DeleteUserSessions: %v", err)
	}
	if n, err := s.DeleteUserSessions(ctx, "u-eve"); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions again = %d, %v; want 0", n, err)
	}
}

// testSweepMany sweeps more records than a backend would delete in one
// transaction, with live records interleaved, and checks the live ones stay.
func testSweepMany(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const n = 2500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ttl := time.Minute
			if i%10 == 0 {
				ttl = 2 * time.Hour // a live one
			}
			errs <- s.CreateSession(ctx, store.Session{ID: fmt.Sprintf("s%05d", i), UserID: "u",
				AuthTime: clock.Now(), ExpiresAt: clock.Now().Add(ttl)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	removed, err := s.Sweep(ctx, clock.Now())
	if err != nil || removed.Removed != n-n/10 {
		t.Fatalf("Sweep = %d, %v; want %d", removed.Removed, err, n-n/10)
	}
	for i := 0; i < n; i += 10 {
		if _, err := s.Session(ctx, fmt.Sprintf("s%05d", i)); err != nil {
			t.Fatalf("live session %d swept: %v", i, err)
		}
	}
}

// testSigningKeyPublishAhead: a key rotated in with a future ActivatesAt
// is stored (published) at once, and the key it replaces keeps signing
// until that moment.
func testSigningKeyPublishAhead(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	k1 := store.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte{1}, CreatedAt: clock.Now()}
	if err := s.RotateSigningKey(ctx, k1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	activates := clock.Now().Add(time.Minute)
	k2 := store.SigningKey{ID: "k2", Algorithm: "ES256", PrivateKey: []byte{2}, CreatedAt: clock.Now(), ActivatesAt: activates}
	if err := s.RotateSigningKey(ctx, k2, activates.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "k2" {
		t.Fatalf("keys = %+v, %v; want k2 then k1", keys, err)
	}
	next, old := keys[0], keys[1]
	if !next.ActivatesAt.Equal(activates) || next.SignsAt(clock.Now()) || !next.SignsAt(activates) {
		t.Fatalf("published key = %+v: want it stored with its activation, not signing before it", next)
	}
	if !old.RetiredAt.Equal(activates) || !old.SignsAt(clock.Now()) || old.SignsAt(activates) {
		t.Fatalf("replaced key = %+v: want it signing until %v", old, activates)
	}
}
