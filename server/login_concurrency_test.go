package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// holdPasswordSlots takes every argon2 slot of the server's hasher, as a
// busy server's queue of sign-ins would: password checks admitted by the
// throttle wait until the returned func frees the slots.
func (e *testEnv) holdPasswordSlots() (release func()) {
	slots := e.srv.passwords.slots
	for range cap(slots) {
		slots <- struct{}{}
	}
	return func() {
		for range cap(slots) {
			<-slots
		}
	}
}

// concurrentLogins posts n sign-ins at once while every argon2 slot is
// held, so none can finish before all have passed the throttle. Refusals
// are answered at once; the slots are freed when `refused` of them are in,
// or after 30 seconds (a throttle that admits everyone answers nothing
// before). A correct throttle passes whenever the slots are freed; the
// wait only keeps a loaded machine from freeing them before the refusals
// are in, which would make the test weaker, not red. It returns how many responses had each status (0: the request
// failed).
func (e *testEnv) concurrentLogins(n, refused int, user func(i int) string, password string) map[int]int {
	e.t.Helper()
	_, page := e.get(loginPath)
	csrf := csrfFrom(e.t, page)
	release := e.holdPasswordSlots()
	codes := make(chan int, n)
	for i := range n {
		go e.postLoginAsync(csrf, user(i), password, codes)
	}
	count := map[int]int{}
	answered := 0
	deadline := time.After(30 * time.Second)
collect:
	for count[http.StatusTooManyRequests] < refused {
		select {
		case code := <-codes:
			count[code]++
			answered++
		case <-deadline:
			break collect
		}
	}
	release()
	for ; answered < n; answered++ {
		count[<-codes]++
	}
	return count
}

// postLoginAsync posts a sign-in form from another goroutine and sends the
// status code (or 0 when the request itself failed) to codes.
func (e *testEnv) postLoginAsync(csrf, username, password string, codes chan<- int) {
	form := url.Values{"csrf_token": {csrf}, "username": {username}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, e.http.URL+loginPath, strings.NewReader(form.Encode()))
	if err != nil {
		codes <- 0
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.client.Do(req)
	if err != nil {
		codes <- 0
		return
	}
	resp.Body.Close()
	codes <- resp.StatusCode
}

// TestLoginThrottleHoldsUnderConcurrency: the allowance bounds password
// checks in flight as well as finished ones, so a burst of concurrent
// guesses cannot all be checked before the first failure is recorded.
func TestLoginThrottleHoldsUnderConcurrency(t *testing.T) {
	const attempts = 40
	cases := []struct {
		name   string
		limits LoginLimits
		user   func(i int) string
		burst  int
	}{
		{"per account", LoginLimits{MaxFailuresAccountIP: 10, MaxFailuresIP: 1000, Window: 15 * time.Minute},
			func(int) string { return "alice" }, 10},
		{"per IP", LoginLimits{MaxFailuresAccountIP: 1000, MaxFailuresIP: 4, Window: 15 * time.Minute},
			func(i int) string { return "user" + itoa(i) }, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, func(c *Config) { c.Login = tc.limits })
			env.addUser("alice", "correct horse")
			before := env.srv.passwords.verifications.Load()

			count := env.concurrentLogins(attempts, attempts-tc.burst, tc.user, "wrong password")
			if count[http.StatusUnauthorized] > tc.burst || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != attempts {
				t.Fatalf("%d concurrent wrong passwords: %d answered 401, %d answered 429 (all: %v); want at most %d checked, the rest 429",
					attempts, count[http.StatusUnauthorized], count[http.StatusTooManyRequests], count, tc.burst)
			}
			if n := env.srv.passwords.verifications.Load() - before; n > int64(tc.burst) {
				t.Fatalf("%d argon2 verifications for %d concurrent attempts; the allowance is %d", n, attempts, tc.burst)
			}
			// The failures were recorded: even the right password waits now.
			if resp, _ := env.login("alice", "correct horse"); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("after the burst, correct password = %d, want 429", resp.StatusCode)
			}
		})
	}
}

// TestLoginSuccessDoesNotSpendAllowance: a correct password gives back the
// slot it held while being checked, sequentially and concurrently.
func TestLoginSuccessDoesNotSpendAllowance(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.Login = LoginLimits{MaxFailuresAccountIP: 3, MaxFailuresIP: 100, Window: 15 * time.Minute}
	})
	env.addUser("alice", "correct horse")
	for i := range 2 {
		if resp, _ := env.login("alice", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	for i := range 5 { // more successes than the allowance
		if resp, _ := env.login("alice", "correct horse"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("correct login %d after 2 failures = %d, want 303", i+1, resp.StatusCode)
		}
	}
	// One check is left (3 - 2): of three concurrent correct logins one
	// holds it and the others are refused while it is in flight; none of
	// them counts as a failure.
	count := env.concurrentLogins(3, 2, func(int) string { return "alice" }, "correct horse")
	if count[http.StatusSeeOther] < 1 || count[http.StatusSeeOther]+count[http.StatusTooManyRequests] != 3 {
		t.Fatalf("concurrent correct logins: %v, want at least one 303 and the rest 429", count)
	}
	if resp, _ := env.login("alice", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("third failure = %d, want 401: successes must not spend the allowance", resp.StatusCode)
	}
	if resp, _ := env.login("alice", "correct horse"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures = %d, want 429", resp.StatusCode)
	}
}
