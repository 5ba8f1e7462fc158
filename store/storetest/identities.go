package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

func testIdentities(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	alice := store.User{ID: "usr_alice", Name: "alice", CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	id := store.Identity{Provider: "corp", Subject: "s-1", UserID: alice.ID, Email: "alice@example.com", EmailVerified: true,
		Groups: []string{"staff"}, LinkedAt: clock.Now(), LastLoginAt: clock.Now()}
	if err := s.ProvisionUser(ctx, alice, id); err != nil {
		t.Fatalf("ProvisionUser: %v", err)
	}
	if u, err := s.UserByID(ctx, alice.ID); err != nil || u.Name != "alice" || u.PasswordHash != "" {
		t.Fatalf("provisioned user = %+v, %v", u, err)
	}
	got, err := s.Identity(ctx, "corp", "s-1")
	if err != nil || got.UserID != alice.ID || got.Email != "alice@example.com" || len(got.Groups) != 1 || !got.LinkedAt.Equal(clock.Now()) {
		t.Fatalf("Identity = %+v, %v", got, err)
	}
	// One upstream subject never maps to two users: neither a second
	// provisioning nor a link to another user may take it.
	bob := store.User{ID: "usr_bob", Name: "bob"}
	if err := s.ProvisionUser(ctx, bob, store.Identity{Provider: "corp", Subject: "s-1", UserID: bob.ID}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("provision with a linked identity: err = %v, want ErrConflict", err)
	}
	if _, err := s.UserByID(ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused provisioning left the user behind: %v", err)
	}
	if err := s.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkIdentity(ctx, store.Identity{Provider: "corp", Subject: "s-1", UserID: bob.ID}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("link a linked identity to another user: err = %v, want ErrConflict", err)
	}
	if err := s.LinkIdentity(ctx, store.Identity{Provider: "corp", Subject: "s-9", UserID: "usr_nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link to a missing user: err = %v, want ErrNotFound", err)
	}
	// The same subject at another provider is another identity.
	if err := s.LinkIdentity(ctx, store.Identity{Provider: "github", Subject: "s-1", UserID: alice.ID, LinkedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// A taken name refuses provisioning and stores nothing.
	if err := s.ProvisionUser(ctx, store.User{ID: "usr_x", Name: "alice"}, store.Identity{Provider: "corp", Subject: "s-2", UserID: "usr_x"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("provision under a taken name: err = %v", err)
	}
	if _, err := s.Identity(ctx, "corp", "s-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused provisioning left the identity behind: %v", err)
	}
	list, err := s.IdentitiesByUser(ctx, alice.ID)
	if err != nil || len(list) != 2 || list[0].Provider != "corp" || list[1].Provider != "github" {
		t.Fatalf("IdentitiesByUser = %+v, %v", list, err)
	}
	// Update keeps the link, replaces the claims.
	clock.Advance(1000)
	upd := store.Identity{Provider: "corp", Subject: "s-1", UserID: "usr_hijack", Groups: []string{"former"}, LastLoginAt: clock.Now()}
	if err := s.UpdateIdentity(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Identity(ctx, "corp", "s-1")
	if got.UserID != alice.ID || !got.LinkedAt.Equal(id.LinkedAt) || got.Email != "" || got.Groups[0] != "former" || !got.LastLoginAt.Equal(clock.Now()) {
		t.Fatalf("after UpdateIdentity = %+v", got)
	}
	if err := s.UpdateIdentity(ctx, store.Identity{Provider: "corp", Subject: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unlinked: err = %v", err)
	}
	if err := s.UnlinkIdentity(ctx, "github", "s-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.UnlinkIdentity(ctx, "github", "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unlink twice: err = %v", err)
	}
	if list, _ := s.IdentitiesByUser(ctx, alice.ID); len(list) != 1 {
		t.Fatalf("after unlink: %+v", list)
	}
	// Once unlinked, the identity may be linked to someone else.
	if err := s.LinkIdentity(ctx, store.Identity{Provider: "github", Subject: "s-1", UserID: bob.ID}); err != nil {
		t.Fatalf("relink after unlink: %v", err)
	}
	// Deleting a user removes their identities, so the upstream account
	// provisions a new user at its next sign-in.
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Identity(ctx, "corp", "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("identity of a deleted user: err = %v", err)
	}
	if list, _ := s.IdentitiesByUser(ctx, alice.ID); len(list) != 0 {
		t.Fatalf("index of a deleted user: %+v", list)
	}
	if list, _ := s.IdentitiesByUser(ctx, bob.ID); len(list) != 1 {
		t.Fatalf("bob's identity went with alice: %+v", list)
	}
}

// testConcurrentProvisioning: many first sign-ins of one upstream account
// at once create exactly one user.
func testConcurrentProvisioning(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const n = 12
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := fmt.Sprintf("usr_%d", i)
			err := s.ProvisionUser(ctx, store.User{ID: uid, Name: fmt.Sprintf("corp-user-%d", i)},
				store.Identity{Provider: "corp", Subject: "same", UserID: uid, LinkedAt: clock.Now()})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	users, err := s.ListUsers(ctx)
	if wins.Load() != 1 || err != nil || len(users) != 1 {
		t.Fatalf("%d provisionings succeeded, %d users stored (%v); want exactly one", wins.Load(), len(users), err)
	}
	if id, err := s.Identity(ctx, "corp", "same"); err != nil || id.UserID != users[0].ID {
		t.Fatalf("identity = %+v, %v; want linked to %s", id, err, users[0].ID)
	}
}
