package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// sharedInstance is one Gatehouse server on a shared PostgreSQL database,
// with its own connection pool, as a separate process would have.
type sharedInstance struct {
	srv   *Server
	store *pgstore.Store
	// events counts the announcements this instance's listener applied.
	events atomic.Int64
}

func newSharedInstance(t *testing.T, url string, clock *storetest.Clock) *sharedInstance {
	t.Helper()
	st, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	static, err := NewStaticClients([]*oauth.Client{{ID: "conf-app", SecretHash: secretHash(testSecret), Metadata: oauth.ClientMetadata{
		TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic, GrantTypes: []string{oauth.GrantClientCredentials}}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Resources = []Resource{{URI: testResource, Scopes: []string{"files:read"}}}
	srv, err := New(context.Background(), cfg, Deps{Store: st, Now: clock.Now, Clients: &ClientChain{Static: static},
		Passwords: NewPasswordHasher(cheapPasswords)})
	if err != nil {
		t.Fatal(err)
	}
	return &sharedInstance{srv: srv, store: st}
}

// listen applies the other instances' announcements as `gatehouse serve`
// does (cmd/gatehouse listenForPeers), until the test ends.
func (in *sharedInstance) listen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = in.store.Listen(ctx, func(e store.Event) {
			if e.Origin == in.srv.Origin() {
				return
			}
			switch e.Kind {
			case store.EventApproval:
				in.srv.ApprovalChanged(e.Key)
			case store.EventResync:
				in.srv.ApprovalChanged("")
			}
			in.events.Add(1)
		})
	}()
}

// clientCredentials asks in for a token as conf-app and returns the status
// and the OAuth error code, if any.
func (in *sharedInstance) clientCredentials(t *testing.T) (int, string) {
	t.Helper()
	rec := serveForm(in.srv.Handler(), tokenPath, url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}},
		"conf-app", testSecret)
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body.Error
}

// TestApprovalBlockReachesEveryInstance (issue 11): instances keep client
// approvals in memory, and an administrator's block on one instance stops
// token issuance on the others: at once on the instance that blocked, on
// a listening instance when the announcement arrives (the clock standing
// still), and on an instance that missed it within approvalCacheTTL.
// Answers without a record ("never decided") are kept by the same rules.
func TestApprovalBlockReachesEveryInstance(t *testing.T) {
	url := pgtest.NewDatabase(t)
	clock := storetest.NewClock()
	a := newSharedInstance(t, url, clock)
	b := newSharedInstance(t, url, clock) // listens
	c := newSharedInstance(t, url, clock) // misses every announcement
	b.listen(t)

	// B is listening once an announcement from A reaches it.
	deadline := time.Now().Add(generousDeadline)
	for b.events.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("instance B never received an announcement")
		}
		a.srv.announce(context.Background(), store.Event{Kind: store.EventKeys})
		time.Sleep(20 * time.Millisecond)
	}

	// Every instance issues, and remembers that conf-app has no record.
	for name, in := range map[string]*sharedInstance{"A": a, "B": b, "C": c} {
		if code, e := in.clientCredentials(t); code != http.StatusOK {
			t.Fatalf("instance %s before the block = %d %s", name, code, e)
		}
	}

	admin, err := a.srv.NewAdmin(AdminOptions{Token: adminToken, Version: "test", Started: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/clients/block?id=conf-app", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	admin.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("block = %d %s", rec.Code, rec.Body)
	}

	// The instance that blocked refuses at once.
	if code, e := a.clientCredentials(t); code == http.StatusOK || e != "unauthorized_client" {
		t.Fatalf("instance A right after its own block = %d %q, want unauthorized_client", code, e)
	}
	// B drops its copy when the announcement arrives; the clock stands
	// still, so only the announcement can make it refuse.
	for {
		code, e := b.clientCredentials(t)
		if code != http.StatusOK {
			if e != "unauthorized_client" {
				t.Fatalf("instance B after the block = %d %q, want unauthorized_client", code, e)
			}
			break
		}
		if time.Now().After(deadline.Add(generousDeadline)) {
			t.Fatal("instance B still issues tokens to a blocked client: the announcement did not reach its cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// C heard nothing: it answers from memory until its copy is
	// approvalCacheTTL old, and not an instant longer.
	if code, _ := c.clientCredentials(t); code != http.StatusOK {
		t.Fatalf("instance C within the bound = %d: its copy was not kept (the cache is not in use)", code)
	}
	clock.Advance(approvalCacheTTL - time.Millisecond)
	if code, _ := c.clientCredentials(t); code != http.StatusOK {
		t.Fatalf("instance C just inside the bound = %d", code)
	}
	clock.Advance(time.Millisecond)
	if code, e := c.clientCredentials(t); code == http.StatusOK || e != "unauthorized_client" {
		t.Fatalf("instance C %v after reading = %d %q: a lost announcement kept a blocked client working past the bound", approvalCacheTTL, code, e)
	}
	// And the block, now remembered, holds there with time.
	clock.Advance(time.Hour)
	if code, _ := b.clientCredentials(t); code == http.StatusOK {
		t.Fatal("instance B issues to the blocked client an hour later")
	}
}

// slowApprovals is an ApprovalStore whose reads can be held mid-way, to
// interleave an invalidation with a read.
type slowApprovals struct {
	store.ApprovalStore
	state   string
	reads   atomic.Int64
	reading chan struct{} // receives when a read has started (nil: none)
	release chan struct{} // the read returns when this is closed (nil: at once)
}

func (s *slowApprovals) ClientApproval(_ context.Context, id string) (store.ClientApproval, error) {
	s.reads.Add(1)
	state := s.state // the answer as the read began
	if s.reading != nil {
		s.reading <- struct{}{}
		<-s.release
	}
	if state == "" {
		return store.ClientApproval{}, store.ErrNotFound
	}
	return store.ClientApproval{ClientID: id, State: state}, nil
}

// A read that began before a change must not leave its older answer in
// the cache after the change's invalidation: a record, or no record (a
// client never decided, blocked while the read was in flight).
func TestApprovalCacheReadRacingAChange(t *testing.T) {
	for _, before := range []string{store.ApprovalApproved, ""} {
		clock := storetest.NewClock()
		c := newApprovalCache(clock.Now)
		st := &slowApprovals{state: before, reading: make(chan struct{}), release: make(chan struct{})}
		done := make(chan store.ClientApproval)
		go func() {
			rec, _, err := c.get(context.Background(), st, "x")
			if err != nil {
				t.Error(err)
			}
			done <- rec
		}()
		<-st.reading // the read has the old answer in hand
		st.state = store.ApprovalBlocked
		c.forget("x") // the change commits and invalidates
		close(st.release)
		if rec := <-done; rec.State != before {
			t.Fatalf("before %q: the racing read answered %q", before, rec.State)
		}
		st.reading, st.release = nil, nil
		rec, found, err := c.get(context.Background(), st, "x")
		if err != nil || !found || rec.State != store.ApprovalBlocked {
			t.Fatalf("before %q, after the change: %+v %v %v, want blocked: the racing read's older answer was kept", before, rec, found, err)
		}
	}
}

// Answers are kept for the TTL, records and their absence alike; forget
// drops one client or (after a lost event connection) every one; the
// number of entries is bounded.
func TestApprovalCacheRules(t *testing.T) {
	clock := storetest.NewClock()
	c := newApprovalCache(clock.Now)
	c.max = 3
	st := &slowApprovals{}
	get := func(id string) (store.ClientApproval, bool) {
		t.Helper()
		rec, found, err := c.get(context.Background(), st, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec, found
	}
	if _, found := get("none"); found {
		t.Fatal("a client without a record was found")
	}
	st.state = store.ApprovalBlocked
	if _, found := get("none"); found || st.reads.Load() != 1 {
		t.Fatalf("no record was not kept: found %v after %d reads", found, st.reads.Load())
	}
	c.forget("none")
	if rec, found := get("none"); !found || rec.State != store.ApprovalBlocked || st.reads.Load() != 2 {
		t.Fatalf("forget(id): %+v %v after %d reads", rec, found, st.reads.Load())
	}
	get("other")
	c.forget("") // EventResync
	get("none")
	get("other")
	if st.reads.Load() != 5 {
		t.Fatalf("forget(\"\") left entries: %d reads, want 5", st.reads.Load())
	}
	clock.Advance(approvalCacheTTL)
	get("none")
	if st.reads.Load() != 6 {
		t.Fatalf("an entry outlived the TTL: %d reads, want 6", st.reads.Load())
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		get(id)
		if n := len(c.entries); n > c.max {
			t.Fatalf("%d entries, bound %d", n, c.max)
		}
	}
}
