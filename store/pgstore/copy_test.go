package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// TestCopyFromBolt fills a bbolt store through the store API with every
// kind of record, copies it, and reads each back from PostgreSQL.
func TestCopyFromBolt(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	now := clock.Now()
	src, err := boltstore.Open(t.TempDir(), boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	secret, _ := src.Secret(ctx, "csrf", func() ([]byte, error) { return []byte("s3cret"), nil })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(src.RotateSigningKey(ctx, store.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte{1}, CreatedAt: now.Add(-time.Hour)}, time.Time{}))
	must(src.RotateSigningKey(ctx, store.SigningKey{ID: "k2", Algorithm: "ES256", PrivateKey: []byte{2}, CreatedAt: now}, now.Add(time.Hour)))
	must(src.CreateUser(ctx, store.User{ID: "u1", Name: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}))
	must(src.LinkIdentity(ctx, store.Identity{Provider: "corp", Subject: "s-1", UserID: "u1", Email: "alice@example.com", LinkedAt: now}))
	must(src.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", AuthTime: now, ExpiresAt: now.Add(time.Hour)}))
	must(src.CreateSession(ctx, store.Session{ID: "gone", UserID: "u1", AuthTime: now, ExpiresAt: now.Add(time.Second)}))
	client := store.RegisteredClient{ID: "dcr_1", RegistrationTokenHash: "rat", IssuedAt: now, UpdatedAt: now, DedupKey: "dk", ExpiresAt: now.Add(24 * time.Hour)}
	client.Metadata.ClientName = "Tool"
	if _, _, err := src.CreateClient(ctx, client, ""); err != nil {
		t.Fatal(err)
	}
	must(src.CreateInitialAccessToken(ctx, store.InitialAccessToken{ID: "iat", UsesLeft: 3, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	code := store.AuthCode{ID: "c1", ClientID: "dcr_1", UserID: "u1", Resources: []string{"https://rs"}, IssuedAt: now, ExpiresAt: now.Add(time.Minute), KeepUntil: now.Add(10 * time.Minute)}
	must(src.CreateCode(ctx, code))
	grant := store.Grant{ID: "g1", ClientID: "dcr_1", UserID: "u1", Resources: []string{"https://rs"}, CreatedAt: now, ExpiresAt: now.Add(48 * time.Hour),
		AccessTokens: []store.IssuedToken{{JTI: "at1", ExpiresAt: now.Add(10 * time.Minute)}}}
	must(src.RedeemCode(ctx, "c1", now, grant, store.RefreshToken{ID: "rt1", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}))
	must(src.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: "dcr_1", Fingerprint: "f", GrantedAt: now}))
	must(src.RevokeAccessToken(ctx, store.IssuedToken{JTI: "old-at", ExpiresAt: now.Add(5 * time.Minute)}))
	must(src.UseAssertionID(ctx, "dcr_1", "jti-1", now.Add(5*time.Minute)))
	if _, _, err := src.RequestClientApproval(ctx, store.ClientApproval{ClientID: "https://agent.example/c.json", Kind: "cimd",
		Fingerprint: "fp", RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second) // session "gone" has expired: not copied

	dst, err := pgstore.Open(ctx, pgstore.Options{URL: newURL(t), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	counts, err := dst.Import(ctx, func(emit func(store.Record) error) error { return src.Export(ctx, emit) })
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.RecordKind]int{store.KindSecret: 1, store.KindSigningKey: 2, store.KindUser: 1, store.KindIdentity: 1, store.KindSession: 1, store.KindClient: 1,
		store.KindInitialToken: 1, store.KindGrant: 1, store.KindRefreshToken: 1, store.KindCode: 1, store.KindConsent: 1,
		store.KindRevokedToken: 1, store.KindAssertionID: 1, store.KindApproval: 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("copied %d %s, want %d", counts[k], k, n)
		}
	}
	if got, _ := dst.Secret(ctx, "csrf", func() ([]byte, error) { return []byte("new"), nil }); string(got) != string(secret) {
		t.Errorf("secret = %q, want the copied %q", got, secret)
	}
	if keys, _ := dst.SigningKeys(ctx); len(keys) != 2 || keys[0].ID != "k2" || !keys[0].Active() || keys[1].Active() || !keys[1].PublishUntil.Equal(now.Add(time.Hour)) {
		t.Errorf("keys = %+v", keys)
	}
	if u, err := dst.UserByName(ctx, "alice"); err != nil || u.ID != "u1" || u.PasswordHash != "h" {
		t.Errorf("user = %+v, %v", u, err)
	}
	if id, err := dst.Identity(ctx, "corp", "s-1"); err != nil || id.UserID != "u1" || id.Email != "alice@example.com" {
		t.Errorf("identity = %+v, %v", id, err)
	}
	if _, err := dst.Session(ctx, "s1"); err != nil {
		t.Errorf("session: %v", err)
	}
	if c, err := dst.Client(ctx, "dcr_1"); err != nil || c.Metadata.ClientName != "Tool" {
		t.Errorf("client = %+v, %v", c, err)
	}
	// The dedup key came along: an identical registration is merged.
	dup := client
	dup.ID, dup.RegistrationTokenHash = "dcr_2", "rat2"
	if got, created, err := dst.CreateClient(ctx, dup, "iat"); err != nil || created || got.ID != "dcr_1" {
		t.Errorf("identical registration after copy = %s created=%v %v", got.ID, created, err)
	}
	if a, err := dst.ClientApproval(ctx, "https://agent.example/c.json"); err != nil || a.State != store.ApprovalPending || a.Fingerprint != "fp" {
		t.Errorf("approval = %+v, %v", a, err)
	}
	if c, _ := dst.Code(ctx, "c1"); !c.Redeemed() || c.GrantID != "g1" {
		t.Errorf("code = %+v", c)
	}
	if err := dst.RedeemCode(ctx, "c1", clock.Now(), store.Grant{ID: "g9", ClientID: "x", ExpiresAt: now.Add(time.Hour)}, store.RefreshToken{}); !errors.Is(err, store.ErrAlreadyRedeemed) {
		t.Errorf("redeem the copied redeemed code: %v", err)
	}
	if rot, err := dst.RotateRefreshToken(ctx, "rt1", clock.Now(), store.RefreshToken{ID: "rt2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, store.IssuedToken{}, 0); err != nil || rot.Grant.ID != "g1" {
		t.Errorf("rotate the copied refresh token = %+v, %v", rot, err)
	}
	if c, err := dst.Consent(ctx, "u1", "dcr_1"); err != nil || c.Fingerprint != "f" {
		t.Errorf("consent = %+v, %v", c, err)
	}
	if revoked, _ := dst.AccessTokenRevoked(ctx, "old-at"); !revoked {
		t.Error("revoked access token not copied")
	}
	if err := dst.UseAssertionID(ctx, "dcr_1", "jti-1", now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("replay of a copied assertion id: %v", err)
	}
	// A second copy into the now populated database is refused.
	if _, err := dst.Import(ctx, func(emit func(store.Record) error) error { return src.Export(ctx, emit) }); !errors.Is(err, pgstore.ErrNotEmpty) {
		t.Errorf("copy into a populated database: %v, want ErrNotEmpty", err)
	}
}
