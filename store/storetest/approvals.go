package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

const cimdClient = "https://agent.example/client.json"

func request(clock *Clock, id, fp string) store.ClientApproval {
	return store.ClientApproval{ClientID: id, Kind: "cimd", ClientName: "Agent", Profile: "unknown-cimd", Fingerprint: fp, RequestedAt: clock.Now()}
}

// testApprovals walks one client through the queue: pending on first
// appearance, approved for the fingerprint the administrator saw, back in
// the queue when its metadata changes, blocked with its grants revoked.
func testApprovals(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if _, err := s.ClientApproval(ctx, cimdClient); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClientApproval of an unseen client: %v", err)
	}
	if _, _, err := s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: store.ApprovalApproved, At: clock.Now()}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("approving a client nobody asked for: %v, want ErrNotFound", err)
	}
	first := clock.Now()
	a, queued, err := s.RequestClientApproval(ctx, request(clock, cimdClient, "fp1"))
	if err != nil || !queued || a.State != store.ApprovalPending || a.Reason != store.ApprovalReasonNew || !a.RequestedAt.Equal(first) {
		t.Fatalf("first request = %+v, queued %v, %v", a, queued, err)
	}
	clock.Advance(time.Minute)
	req := request(clock, cimdClient, "fp2") // the document changed while pending
	req.ClientName = "Agent 2"
	a, queued, err = s.RequestClientApproval(ctx, req)
	if err != nil || queued || a.State != store.ApprovalPending || a.Fingerprint != "fp2" || a.ClientName != "Agent 2" || !a.RequestedAt.Equal(first) {
		t.Fatalf("second request = %+v, queued %v, %v; want still pending since the first, fingerprint fp2, not queued again", a, queued, err)
	}
	if _, _, err := s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: store.ApprovalApproved, Fingerprint: "fp1", At: clock.Now()}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("approving a fingerprint that is no longer pending: %v, want ErrConflict", err)
	}
	a, n, err := s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: store.ApprovalApproved, Fingerprint: "fp2", At: clock.Now()})
	if err != nil || n != 0 || a.State != store.ApprovalApproved || a.Fingerprint != "fp2" || !a.DecidedAt.Equal(clock.Now()) {
		t.Fatalf("approve = %+v, %d, %v", a, n, err)
	}
	if a, queued, _ = s.RequestClientApproval(ctx, request(clock, cimdClient, "fp2")); queued || a.State != store.ApprovalApproved {
		t.Fatalf("an approved client seen again = %+v, queued %v", a, queued)
	}
	clock.Advance(time.Hour)
	a, queued, err = s.RequestClientApproval(ctx, request(clock, cimdClient, "fp3"))
	if err != nil || !queued || a.State != store.ApprovalPending || a.Reason != store.ApprovalReasonChanged || a.ApprovedFingerprint != "fp2" || !a.RequestedAt.Equal(clock.Now()) {
		t.Fatalf("changed metadata = %+v, queued %v, %v; want pending again (changed)", a, queued, err)
	}
	if got, err := s.ClientApproval(ctx, cimdClient); err != nil || got != a {
		t.Fatalf("ClientApproval = %+v, %v; want %+v", got, err, a)
	}
	// Blocking revokes the client's grants and their tokens in the same
	// commit; a blocked client stays blocked whatever it presents.
	for _, id := range []string{"g1", "g2"} {
		if err := s.CreateGrant(ctx, newGrant(clock, id, "u1", cimdClient)); err != nil {
			t.Fatal(err)
		}
	}
	a, n, err = s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: store.ApprovalBlocked, At: clock.Now()})
	if err != nil || n != 2 || a.State != store.ApprovalBlocked {
		t.Fatalf("block = %+v, %d, %v; want blocked with 2 grants revoked", a, n, err)
	}
	if _, err := s.Grant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a blocked client's grant survives")
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "at-g2"); !revoked {
		t.Fatal("a blocked client's access token is not revoked")
	}
	if a, queued, _ = s.RequestClientApproval(ctx, request(clock, cimdClient, "fp4")); queued || a.State != store.ApprovalBlocked {
		t.Fatalf("a blocked client seen again = %+v, queued %v", a, queued)
	}
	// Unblocking is an approval of the record as it stands.
	if a, _, err = s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: store.ApprovalApproved, At: clock.Now()}); err != nil || a.State != store.ApprovalApproved {
		t.Fatalf("unblock = %+v, %v", a, err)
	}
	// A block needs no record; a pre-approval needs a fingerprint.
	if a, _, err = s.DecideClientApproval(ctx, store.ClientDecision{ClientID: "https://never.example/c", State: store.ApprovalBlocked, Kind: "cimd", At: clock.Now()}); err != nil ||
		a.State != store.ApprovalBlocked || a.Kind != "cimd" {
		t.Fatalf("block of an unseen client = %+v, %v", a, err)
	}
	if a, _, err = s.DecideClientApproval(ctx, store.ClientDecision{ClientID: "https://pre.example/c", State: store.ApprovalApproved, Fingerprint: "fpX", At: clock.Now()}); err != nil ||
		a.State != store.ApprovalApproved || a.Fingerprint != "fpX" {
		t.Fatalf("pre-approval = %+v, %v", a, err)
	}
	if _, _, err := s.DecideClientApproval(ctx, store.ClientDecision{ClientID: cimdClient, State: "maybe", At: clock.Now()}); err == nil {
		t.Fatal("an unknown decision was applied")
	}
	list, err := s.ClientApprovals(ctx)
	if err != nil || len(list) != 3 || list[0].ClientID != "https://never.example/c" && list[0].ClientID != "https://pre.example/c" {
		t.Fatalf("ClientApprovals = %+v, %v", list, err)
	}
	if list[2].ClientID != cimdClient {
		t.Errorf("ClientApprovals is not ordered by request time: %+v", list)
	}
}

// testApprovalGoesWithClient: deleting (or sweeping) a registered client
// removes its approval record, so a reused ID could never inherit it.
func testApprovalGoesWithClient(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if _, _, err := s.CreateClient(ctx, newClient(clock, "dcr_a", ""), ""); err != nil {
		t.Fatal(err)
	}
	req := request(clock, "dcr_a", "fp")
	req.Kind = "dcr"
	if _, _, err := s.RequestClientApproval(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "dcr_a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientApproval(ctx, "dcr_a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the approval record outlived its client: %v", err)
	}
	if _, _, err := s.CreateClient(ctx, newClient(clock, "dcr_b", ""), ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DecideClientApproval(ctx, store.ClientDecision{ClientID: "dcr_b", State: store.ApprovalBlocked, At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour) // past the unused client's expiry
	if _, err := s.Sweep(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientApproval(ctx, "dcr_b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the swept client's approval record survives: %v", err)
	}
}

// testConcurrentApprovalRequests: many requests for one new client (many
// users, several instances) queue it exactly once, so exactly one webhook
// notice goes out.
func testConcurrentApprovalRequests(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	var queued atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, q, err := s.RequestClientApproval(ctx, request(clock, cimdClient, "fp"))
			if err != nil || a.State != store.ApprovalPending {
				t.Errorf("RequestClientApproval = %+v, %v", a, err)
			}
			if q {
				queued.Add(1)
			}
		}()
	}
	wg.Wait()
	if queued.Load() != 1 {
		t.Fatalf("%d concurrent requests reported the client newly queued; want exactly 1", queued.Load())
	}
}
