package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newLockoutEnv is a server behind a trusted proxy on loopback, so each
// request can come from the client address its X-Forwarded-For names,
// with the default sign-in limits' shape: 10 failures per account and
// address, 30 per address, 100 per account, a 15-minute window.
func newLockoutEnv(t *testing.T, mutate func(*LoginLimits)) (*testEnv, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	waits := &[]time.Duration{}
	env := &testEnv{t: t, clock: newStartClock(), dir: t.TempDir()}
	env.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return nil
	}
	env.logs = &syncBuffer{}
	env.metrics = NewMetrics()
	cfg := testConfig()
	cfg.TrustedProxies = mustPrefixes("127.0.0.0/8", "::1/128")
	cfg.Login = LoginLimits{MaxFailuresAccountIP: 10, MaxFailuresIP: 30, MaxFailuresAccount: 100, Window: 15 * time.Minute, AccountSlowdown: 3 * time.Second,
		TrustedDeviceTTL: 90 * 24 * time.Hour}
	if mutate != nil {
		mutate(&cfg.Login)
	}
	env.openStore()
	env.start(cfg)
	env.addUser("alice", "correct horse")
	return env, waits
}

func (e *testEnv) loginFrom(ip, user, password string) int {
	e.t.Helper()
	resp, _ := e.login(user, password, "X-Forwarded-For", ip)
	return resp.StatusCode
}

// TestGuesserCannotLockTheUserOut (CWE-645): ten wrong passwords from one
// address, and then one guess every 90 seconds for an hour, refuse that
// address, never the right password from the user's own address.
func TestGuesserCannotLockTheUserOut(t *testing.T) {
	env, _ := newLockoutEnv(t, nil)
	const attacker, user = "203.0.113.66", "198.51.100.7"
	for i := range 10 {
		if code := env.loginFrom(attacker, "alice", "guess"+strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i, code)
		}
	}
	if code := env.loginFrom(attacker, "alice", "guess-10"); code != http.StatusTooManyRequests {
		t.Fatalf("11th guess from the same address = %d, want 429", code)
	}
	if code := env.loginFrom(user, "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user from another address = %d, want 303 (signed in)", code)
	}
	for minute := 0; minute < 60; minute += 1 {
		env.clock.Advance(90 * time.Second)
		env.loginFrom(attacker, "alice", "slow-guess")
		env.client.Jar = newJar() // a fresh browser for the user each time
		if code := env.loginFrom(user, "alice", "correct horse"); code != http.StatusSeeOther {
			t.Fatalf("after %d slow guesses the user from another address = %d, want 303", minute+1, code)
		}
	}
	// Another IPv6 host is another address too.
	if code := env.loginFrom("2001:db8:1::7", "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user over IPv6 = %d", code)
	}
	if strings.Contains(env.logs.String(), `"event":"login_slowed"`) {
		t.Error("one address guessing slowed the account: the per-account limit is for distributed guessing")
	}
}

// TestDistributedGuessingIsSlowedNotRefused: guesses at one account from
// many addresses pass login.max_failures_per_account; from then on each
// check of the account waits its turn (login.account_slowdown apart),
// and the right password still signs in. Only a queue longer than 20 s
// is answered 429.
func TestDistributedGuessingIsSlowedNotRefused(t *testing.T) {
	env, waits := newLockoutEnv(t, func(l *LoginLimits) { l.MaxFailuresAccount = 20 })
	for i := range 20 { // 20 addresses, one guess each: no address is near its limit
		if code := env.loginFrom("203.0.113."+strconv.Itoa(i+1), "alice", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i, code)
		}
	}
	if len(*waits) != 0 {
		t.Fatalf("waits before the account limit: %v", *waits)
	}
	// The user, from a fresh address: signed in, after its turn.
	if code := env.loginFrom("198.51.100.7", "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user while the account is slowed = %d, want 303", code)
	}
	// The guessers keep going: each check waits 3 s more than the last
	// (the clock stands still), until the queue would pass 20 s.
	var got []time.Duration
	code := 0
	for i := 0; code != http.StatusTooManyRequests && i < 20; i++ {
		env.client.Jar = newJar()
		code = env.loginFrom("192.0.2."+strconv.Itoa(i+1), "alice", "guess")
	}
	got = append(got, *waits...)
	want := []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second, 15 * time.Second, 18 * time.Second}
	if code != http.StatusTooManyRequests || len(got) != len(want) {
		t.Fatalf("code %d, waits %v; want 429 after waits %v", code, got, want)
	}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("waits = %v, want %v", got, want)
		}
	}
	// Time passes: the queue drains and the user signs in again.
	env.clock.Advance(time.Minute)
	env.client.Jar = newJar()
	if code := env.loginFrom("198.51.100.7", "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user a minute later = %d", code)
	}
	for _, want := range []string{`"event":"login_slowed"`, `"failure_level":20`} {
		if !strings.Contains(env.logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if n := counterValue(t, env.metrics, "gatehouse_login_slowed_total"); n < 8 {
		t.Errorf("gatehouse_login_slowed_total = %v, want every paced attempt counted", n)
	}
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
