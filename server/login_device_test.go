package server

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDistributedGuessersCannotQueueTheUserOut (CWE-645): a guesser with
// a few dozen addresses (a botnet, or one IPv6 /58) takes the account past
// login.max_failures_per_account, then keeps the slowed account's queue
// full: one guess per login.account_slowdown, each from an address well
// within its own allowance. Every other attempt finds its turn more than
// 20 s away and gets 429, so without more, the right password is refused
// for as long as the guessing goes on. A browser the user signed in with
// before carries a trusted-device cookie and is not queued behind the
// guessers; a forged, another account's or exhausted cookie is.
func TestDistributedGuessersCannotQueueTheUserOut(t *testing.T) {
	env, waits := newLockoutEnv(t, func(l *LoginLimits) { l.MaxFailuresAccount = 20 })
	const home = "198.51.100.7"
	// The user signed in from this browser last week.
	if code := env.loginFrom(home, "alice", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("the user's first sign-in = %d", code)
	}
	laptop := env.client.Jar
	env.clock.Advance(7 * 24 * time.Hour)

	guesser := 0
	guess := func() int {
		guesser++
		env.client.Jar = newJar()
		return env.loginFrom("203.0."+strconv.Itoa(guesser/250)+"."+strconv.Itoa(guesser%250+1), "alice", "guess")
	}
	for range 20 { // past the per-account limit, no address near its own
		guess()
	}
	for range 7 { // the queue: turns at 0, 3, ..., 18 s
		if code := guess(); code != http.StatusUnauthorized {
			t.Fatalf("a queued guess = %d", code)
		}
	}
	if code := guess(); code != http.StatusTooManyRequests {
		t.Fatalf("a guess past the queue = %d, want 429", code)
	}
	// A browser that never signed in waits behind the guessers like them.
	env.client.Jar = newJar()
	if code := env.loginFrom(home, "alice", "correct horse"); code != http.StatusTooManyRequests {
		t.Fatalf("a new browser while the queue is full = %d, want 429", code)
	}
	// The guessers keep it full, one guess per slowdown; the user's own
	// browser signs in every time, without waiting.
	for round := range 5 {
		env.clock.Advance(3 * time.Second)
		guess()
		before := len(*waits)
		env.client.Jar = laptop
		if code := env.loginFrom(home, "alice", "correct horse"); code != http.StatusSeeOther {
			t.Fatalf("round %d: the user's own browser = %d, want 303", round, code)
		}
		if len(*waits) != before {
			t.Fatalf("round %d: the user's own browser waited %v", round, (*waits)[before:])
		}
		signOut(env) // the device cookie outlives the session
	}

	// The cookie is bound to its account and to Gatehouse's secret.
	env.client.Jar = newJar()
	env.addUser("bob", "bob's long password")
	if code := env.loginFrom("192.0.2.200", "bob", "bob's long password"); code != http.StatusSeeOther {
		t.Fatalf("bob = %d", code)
	}
	if code := env.loginFrom("192.0.2.200", "alice", "correct horse"); code != http.StatusTooManyRequests {
		t.Fatalf("bob's browser signing in as alice = %d, want 429 (bob's cookie is not alice's)", code)
	}
	forged := newJar()
	for _, ck := range laptop.Cookies(mustURL(env.http.URL)) {
		if strings.Contains(ck.Name, "device") {
			body, mac, _ := strings.Cut(ck.Value, ".")
			ck.Value = body + "." + strings.Repeat("A", len(mac))
		}
		forged.SetCookies(mustURL(env.http.URL), []*http.Cookie{ck})
	}
	env.client.Jar = forged
	if code := env.loginFrom(home, "alice", "correct horse"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged device cookie = %d, want 429", code)
	}

	// A stolen cookie is worth one address's allowance, not a way round
	// the slowdown: after 10 wrong passwords with it (from anywhere) it
	// queues like any browser.
	for i := range 10 {
		env.client.Jar = cloneJar(t, laptop, env.http.URL)
		if code := env.loginFrom("192.0.2."+strconv.Itoa(i+1), "alice", "thief"); code != http.StatusUnauthorized {
			t.Fatalf("thief guess %d = %d", i, code)
		}
	}
	env.client.Jar = cloneJar(t, laptop, env.http.URL)
	if code := env.loginFrom("192.0.2.99", "alice", "thief"); code != http.StatusTooManyRequests {
		t.Fatalf("a stolen cookie past its allowance = %d, want 429", code)
	}
	for _, want := range []string{`"event":"login_trusted_device"`, `"outcome":"exempted"`, `"outcome":"exhausted"`} {
		if !strings.Contains(env.logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if n := counterValue(t, env.metrics, "gatehouse_login_trusted_devices_total"); n < 6 {
		t.Errorf("gatehouse_login_trusted_devices_total = %v", n)
	}
}

// signOut presses the sign-in page's "Sign out" button.
func signOut(env *testEnv) {
	env.t.Helper()
	_, page := env.get(loginPath)
	if resp, _ := env.postForm(logoutPath, url.Values{"csrf_token": {csrfFrom(env.t, page)}}); resp.StatusCode != http.StatusSeeOther {
		env.t.Fatalf("sign out = %d", resp.StatusCode)
	}
}

// cloneJar copies a browser's cookies, as a thief copies a cookie file.
func cloneJar(t *testing.T, from http.CookieJar, base string) http.CookieJar {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(base), from.Cookies(mustURL(base)))
	return jar
}
