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
	for _, client := range clients {
		if has, err := s.ClientHasConsent(ctx, client); err != nil || has {
			t.Fatalf("ClientHasConsent(%s) before any consent = %v, %v", client, has, err)
		}
	}
	for _, user := range []string{"u1", "u2"} {
		for _, client := range clients {
			if err := s.PutConsent(ctx, store.Consent{UserID: user, ClientID: client, Fingerprint: "f", GrantedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A client ID that is a prefix of another has consents of its own.
	for client, want := range map[string]bool{"dcr_kept": true, "dcr_kep": false, "https://app.example/client.json": true, "https://app.example/": false} {
		if has, err := s.ClientHasConsent(ctx, client); err != nil || has != want {
			t.Fatalf("ClientHasConsent(%s) = %v, %v; want %v", client, has, err, want)
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
	if has, err := s.ClientHasConsent(ctx, "dcr_deleted"); err != nil || has {
		t.Fatalf("ClientHasConsent of a deleted client = %v, %v", has, err)
	}
	for _, user := range []string{"u1", "u2"} {
		if err := s.RevokeConsent(ctx, user, "dcr_kept"); err != nil {
			t.Fatal(err)
		}
	}
	if has, err := s.ClientHasConsent(ctx, "dcr_kept"); err != nil || has {
		t.Fatalf("ClientHasConsent after every user withdrew = %v, %v", has, err)
	}
}
