package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// TestMain stops the throwaway PostgreSQL cluster a test may have started.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSlowedAccountIsPacedOnceAcrossInstances (issue 11): two Gatehouse
// servers on one PostgreSQL database, one clock. A distributed guesser
// takes the account past login.max_failures_per_account, then guesses on
// both instances in turn. Every check waits for the next slot of ONE
// schedule (3 s, 6 s, ..., 18 s, then 429), whichever instance it lands
// on: two instances do not give the guesser twice the rate. Per instance,
// each would have handed out its own 3 s, 6 s, ... and twice the guesses.
func TestSlowedAccountIsPacedOnceAcrossInstances(t *testing.T) {
	url := pgtest.NewDatabase(t)
	clock := storetest.NewClock()
	var mu sync.Mutex
	var waits []time.Duration
	cfg := testConfig()
	cfg.TrustedProxies = mustPrefixes("127.0.0.0/8")
	cfg.Login = LoginLimits{MaxFailuresAccountIP: 10, MaxFailuresIP: 30, MaxFailuresAccount: 8, Window: 15 * time.Minute, AccountSlowdown: 3 * time.Second}
	instances := make([]*testEnv, 2)
	for i := range instances {
		st, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv, err := New(context.Background(), cfg, Deps{Store: st, Now: clock.Now, Passwords: NewPasswordHasher(cheapPasswords),
			Sleep: func(_ context.Context, d time.Duration) error {
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		instances[i] = &testEnv{t: t, srv: srv, http: hs, clock: clock, client: &http.Client{Jar: newJar(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		if i == 0 {
			a := &Accounts{Store: st, Hasher: srv.passwords, Now: clock.Now}
			if _, err := a.Add(context.Background(), "alice", "correct horse"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Eight guessers, four on each instance, one guess each: the account
	// reaches its limit only because the instances share the count.
	for i := range 8 {
		if code := instances[i%2].loginFrom("203.0.113."+strconv.Itoa(i+1), "alice", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i, code)
		}
	}
	// Now the account is slowed: guesses alternate between the instances,
	// each from a fresh address, while the clock stands still.
	var codes []int
	for i := 0; i < 12; i++ {
		env := instances[i%2]
		env.client.Jar = newJar()
		codes = append(codes, env.loginFrom("192.0.2."+strconv.Itoa(i+1), "alice", "guess"))
	}
	want := []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second, 15 * time.Second, 18 * time.Second}
	mu.Lock()
	got := slices.Clone(waits)
	mu.Unlock()
	// The first slowed check takes the free slot (no wait); then 3 s apart.
	if !slices.Equal(got, want) {
		t.Fatalf("waits across both instances = %v, want one schedule %v", got, want)
	}
	refused := 0
	for _, c := range codes {
		if c == http.StatusTooManyRequests {
			refused++
		}
	}
	// 7 checks fit in the 20 s queue (0, 3, ..., 18 s), on both instances
	// together; the other 5 guesses are refused with Retry-After.
	if admitted := len(codes) - refused; admitted != 7 {
		t.Fatalf("checks admitted on two instances = %d (codes %v), want 7: one queue, not one per instance", admitted, codes)
	}
	// The queue drains with time, on either instance; the user signs in.
	clock.Advance(time.Minute)
	instances[1].client.Jar = newJar()
	if code := instances[1].loginFrom("198.51.100.7", "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user a minute later = %d, want 303", code)
	}
}
