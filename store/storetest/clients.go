package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

func newClient(clock *Clock, id, dedup string) store.RegisteredClient {
	now := clock.Now()
	return store.RegisteredClient{
		ID: id, Metadata: oauth.ClientMetadata{ClientName: "CLI", RedirectURIs: []string{"http://localhost/cb"}, TokenEndpointAuthMethod: "none"},
		RegistrationTokenHash: "rat-" + id, IssuedAt: now, UpdatedAt: now, DedupKey: dedup, ExpiresAt: now.Add(24 * time.Hour),
	}
}

func testClients(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	c := newClient(clock, "dcr_1", "")
	c.SecretHash = "abc"
	stored, created, err := s.CreateClient(ctx, c, "")
	if err != nil || !created || stored.ID != "dcr_1" {
		t.Fatalf("CreateClient = %+v %v %v", stored, created, err)
	}
	if _, _, err := s.CreateClient(ctx, c, ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate ID: %v", err)
	}
	got, err := s.Client(ctx, "dcr_1")
	if err != nil || got.SecretHash != "abc" || got.Metadata.ClientName != "CLI" || got.Metadata.RedirectURIs[0] != "http://localhost/cb" {
		t.Fatalf("Client = %+v %v", got, err)
	}
	got.Metadata.ClientName = "Renamed"
	if err := s.UpdateClient(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Client(ctx, "dcr_1"); got.Metadata.ClientName != "Renamed" {
		t.Fatalf("update lost: %+v", got)
	}
	if err := s.UpdateClient(ctx, newClient(clock, "ghost", "")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	clock.Advance(time.Second)
	if _, _, err := s.CreateClient(ctx, newClient(clock, "dcr_2", ""), ""); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListClients(ctx, false); len(list) != 2 || list[0].ID != "dcr_1" {
		t.Fatalf("ListClients = %+v", list)
	}
	// Deleting a client revokes its grants.
	if err := s.CreateGrant(ctx, newGrant(clock, "g1", "u1", "dcr_1")); err != nil {
		t.Fatal(err)
	}
	if counts, err := s.ClientGrantCounts(ctx); err != nil || counts["dcr_1"] != 1 || len(counts) != 1 {
		t.Fatalf("ClientGrantCounts = %v %v", counts, err)
	}
	if err := s.DeleteClient(ctx, "dcr_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client(ctx, "dcr_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted client still there")
	}
	if _, err := s.Grant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted client's grant survives")
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "at-g1"); !revoked {
		t.Fatal("deleted client's access token not revoked")
	}
	if err := s.DeleteClient(ctx, "dcr_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testClientDedupAndActivity(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	first, created, err := s.CreateClient(ctx, newClient(clock, "dcr_a", "key-1"), "")
	if err != nil || !created {
		t.Fatal(err)
	}
	again := newClient(clock, "dcr_b", "key-1")
	again.RegistrationTokenHash = "rat-newest"
	dup, created, err := s.CreateClient(ctx, again, "")
	if err != nil || created || dup.ID != first.ID || dup.RegistrationTokenHash != "rat-newest" ||
		len(dup.SharedTokenHashes) != 1 || dup.SharedTokenHashes[0] != first.RegistrationTokenHash {
		t.Fatalf("identical unused registration = %+v created=%v err=%v; want dcr_a with the newest token and the first one shared", dup, created, err)
	}
	// A flood of identical registrations keeps a bounded list.
	for i := range 3 * store.MaxSharedRegistrants {
		again.RegistrationTokenHash = fmt.Sprintf("rat-flood-%d", i)
		if _, _, err := s.CreateClient(ctx, again, ""); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := s.Client(ctx, "dcr_a"); len(c.SharedTokenHashes) != store.MaxSharedRegistrants ||
		c.SharedTokenHashes[0] != fmt.Sprintf("rat-flood-%d", 3*store.MaxSharedRegistrants-2) {
		t.Fatalf("after a flood: %d shared tokens, newest %v", len(c.SharedTokenHashes), c.SharedTokenHashes)
	}
	if _, err := s.Client(ctx, "dcr_b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a deduplicated registration stored a second record")
	}
	// The merge marks the client shared, durably: no registrant may change
	// it for the others (dcr forks updates, deletes only a handle).
	sc, _ := s.Client(ctx, "dcr_a")
	if !sc.Shared {
		t.Fatal("a client with merged registrants is not marked shared")
	}
	sc.RemoveRegistrant(sc.RegistrationTokenHash)
	if err := s.UpdateClient(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if c2, _ := s.Client(ctx, "dcr_a"); !c2.Shared || c2.RegistrationTokenHash != sc.RegistrationTokenHash || len(c2.SharedTokenHashes) != store.MaxSharedRegistrants-1 {
		t.Fatalf("after removing a handle: shared=%v current=%q others=%d", c2.Shared, c2.RegistrationTokenHash, len(c2.SharedTokenHashes))
	}
	// First token: the client is used, expiry moves to now + idle, and
	// identical registrations get their own client from now on.
	clock.Advance(time.Hour)
	if err := s.TouchClient(ctx, "dcr_a", clock.Now(), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Client(ctx, "dcr_a")
	if !c.Used() || !c.FirstTokenAt.Equal(clock.Now()) || !c.ExpiresAt.Equal(clock.Now().Add(90*24*time.Hour)) || c.DedupKey != "" {
		t.Fatalf("after first token = %+v", c)
	}
	if _, created, _ := s.CreateClient(ctx, newClient(clock, "dcr_c", "key-1"), ""); !created {
		t.Fatal("a used client absorbed a new registration")
	}
	// Activity within a minute is not rewritten; later activity is.
	clock.Advance(30 * time.Second)
	if err := s.TouchClient(ctx, "dcr_a", clock.Now(), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if c2, _ := s.Client(ctx, "dcr_a"); !c2.LastActiveAt.Equal(c.LastActiveAt) {
		t.Fatal("touch within a minute wrote a new record")
	}
	clock.Advance(time.Hour)
	s.TouchClient(ctx, "dcr_a", clock.Now(), 90*24*time.Hour)
	if c2, _ := s.Client(ctx, "dcr_a"); !c2.LastActiveAt.Equal(clock.Now()) {
		t.Fatal("later activity not recorded")
	}
	// An unused client expires; the sweep removes it and its dedup entry.
	clock.Advance(24 * time.Hour)
	if _, err := s.Client(ctx, "dcr_c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("unused client outlived its expiry")
	}
	live, _ := s.ListClients(ctx, false)
	all, _ := s.ListClients(ctx, true)
	if len(live) != 1 || len(all) != 2 {
		t.Fatalf("ListClients live=%d all=%d, want 1 and 2 before the sweep", len(live), len(all))
	}
	if _, err := s.Client(ctx, "dcr_a"); err != nil {
		t.Fatal("active client expired")
	}
	if n, err := s.Sweep(ctx, clock.Now()); err != nil || n.Removed != 1 || len(n.ExpiredClients) != 1 || n.ExpiredClients[0] != "dcr_c" {
		t.Fatalf("sweep = %+v %v; want dcr_c reported as expired", n, err)
	}
	if _, created, _ := s.CreateClient(ctx, newClient(clock, "dcr_d", "key-1"), ""); !created {
		t.Fatal("dedup entry of a swept client survived")
	}
	if err := s.TouchClient(ctx, "ghost", clock.Now(), time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("touch missing: %v", err)
	}
}

// testConcurrentIdenticalRegistrations: a burst of identical unused
// registrations leaves exactly one record.
func testConcurrentIdenticalRegistrations(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	const n = 48
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := s.CreateClient(ctx, newClient(clock, fmt.Sprintf("dcr_%d", i), "same"), "")
			if err != nil {
				t.Error(err)
			}
			ids <- c.ID
		}()
	}
	wg.Wait()
	close(ids)
	distinct := map[string]bool{}
	for id := range ids {
		distinct[id] = true
	}
	if list, _ := s.ListClients(ctx, false); len(distinct) != 1 || len(list) != 1 {
		t.Fatalf("%d distinct IDs and %d records from identical registrations, want 1", len(distinct), len(list))
	}
}

func testInitialAccessTokens(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if err := s.CreateInitialAccessToken(ctx, store.InitialAccessToken{ID: "iat", UsesLeft: 2, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, err := s.CreateClient(ctx, newClient(clock, fmt.Sprintf("c%d", i), ""), "iat"); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if _, _, err := s.CreateClient(ctx, newClient(clock, "c3", ""), "iat"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("third use: %v, want ErrNotFound", err)
	}
	if _, err := s.Client(ctx, "c3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused registration was stored")
	}
	if err := s.CreateInitialAccessToken(ctx, store.InitialAccessToken{ID: "short", UsesLeft: 5, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.InitialAccessTokens(ctx); len(list) != 1 || list[0].UsesLeft != 5 {
		t.Fatalf("InitialAccessTokens = %+v", list)
	}
	clock.Advance(time.Minute)
	if _, _, err := s.CreateClient(ctx, newClient(clock, "c4", ""), "short"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
}
