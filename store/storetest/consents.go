package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testClientConsentsGo: when a registered client goes, deleted (RFC 7592)
// or swept past its expiry, every user's consent to it goes too. Client
// IDs are never reused, so such consents would only accumulate (the soak
// found them growing without bound). Consents to other clients, CIMD ones
// included, stay.
func testClientConsentsGo(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	deleted, expiring := newClient(clock, "dcr_deleted", ""), newClient(clock, "dcr_expiring", "")
	expiring.ExpiresAt = clock.Now().Add(time.Hour)
	for _, c := range []store.RegisteredClient{deleted, expiring, newClient(clock, "dcr_kept", "")} {
		if _, _, err := s.CreateClient(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
	}
	clients := []string{"dcr_deleted", "dcr_expiring", "dcr_kept", "https://app.example/client.json"}
	for _, user := range []string{"u1", "u2"} {
		for _, client := range clients {
			if err := s.PutConsent(ctx, store.Consent{UserID: user, ClientID: client, Fingerprint: "f", GrantedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteClient(ctx, "dcr_deleted"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := s.Sweep(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"u1", "u2"} {
		for _, client := range clients {
			_, err := s.Consent(ctx, user, client)
			gone := client == "dcr_deleted" || client == "dcr_expiring"
			if gone && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s's consent to %s survived the client: %v", user, client, err)
			}
			if !gone && err != nil {
				t.Fatalf("%s's consent to %s went with another client: %v", user, client, err)
			}
		}
		if list, err := s.ConsentsByUser(ctx, user); err != nil || len(list) != 2 {
			t.Fatalf("ConsentsByUser(%s) = %d consents, %v; want 2", user, len(list), err)
		}
	}
}
