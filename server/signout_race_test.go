package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// passwdDuringSignIn is the real bbolt store with one hook: right after a
// sign-in has read the user (and before argon2 has checked the password
// and a session exists), the operator's password change lands, from
// another process with its own hasher, as `gatehouse user passwd` would.
type passwdDuringSignIn struct {
	*boltstore.Store
	once   sync.Once
	change func()
}

func (p *passwdDuringSignIn) UserByName(ctx context.Context, name string) (store.User, error) {
	u, err := p.Store.UserByName(ctx, name)
	p.once.Do(p.change)
	return u, err
}

// TestPasswordChangeBeatsASignInInFlight (ASVS V3.3.3): whoever knows the
// old password must not keep a browser session after the password
// change, even one whose sign-in was being checked while the change
// landed (an attacker with a stolen password keeps sign-ins in flight, so
// one always straddles the change).
func TestPasswordChangeBeatsASignInInFlight(t *testing.T) {
	env := &testEnv{t: t, clock: newStartClock(), dir: t.TempDir()}
	env.openStore()
	hooked := &passwdDuringSignIn{Store: env.store}
	cfg := testConfig()
	srv, err := New(context.Background(), cfg, Deps{Store: hooked, Now: env.clock.Now, Passwords: NewPasswordHasher(cheapPasswords)})
	if err != nil {
		t.Fatal(err)
	}
	env.srv, env.http = srv, httptest.NewServer(srv.Handler())
	t.Cleanup(env.http.Close)
	jar, _ := cookiejar.New(nil)
	env.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	operator := &Accounts{Store: env.store, Hasher: NewPasswordHasher(cheapPasswords), Now: env.clock.Now}
	if _, err := operator.Add(context.Background(), testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	hooked.change = func() {
		if _, err := operator.SetPassword(context.Background(), testUser, "the operator's new password", false); err != nil {
			t.Error(err)
		}
	}
	// The old password was read before the change, so the sign-in itself
	// may well say "signed in"; what must not survive is the session.
	env.login(testUser, testPassword)
	if env.signedIn() {
		t.Fatal("a sign-in with the old password that straddled the password change left a live session")
	}
	resp, _ := env.get(accountPath)
	if resp.StatusCode != http.StatusFound || mustURL(resp.Header.Get("Location")).Path != loginPath {
		t.Fatalf("/account after the password change = %d %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The new password works, and its session lives.
	env.client.Jar, _ = cookiejar.New(nil)
	env.login(testUser, "the operator's new password")
	if !env.signedIn() {
		t.Fatal("the new password did not sign in")
	}
}

// TestPasswordChangeVoidsCodesInFlight: an attacker signed in with a
// stolen password keeps a fresh authorization code in reserve (one a
// minute, never redeemed). The operator changes the password and revokes
// every grant; the reserve code must not mint a new grant afterwards.
func TestPasswordChangeVoidsCodesInFlight(t *testing.T) {
	env := newObservedEnv(t)
	env.login(testUser, testPassword)
	verifier, challenge := pkce()
	reserve := env.code(authzParams("public-app", publicRedirect, challenge))

	code, out := env.adminJSON(http.MethodPut, "/users/password", map[string]any{"name": testUser, "password": "a brand new password", "revoke_grants": true})
	if code != http.StatusOK {
		t.Fatalf("password change = %d %v", code, out)
	}
	resp, tok := env.exchange(reserve, verifier)
	if resp.StatusCode != http.StatusBadRequest || tok["error"] != "invalid_grant" {
		t.Fatalf("a code issued before the password change, redeemed after = %d %v, want invalid_grant", resp.StatusCode, tok)
	}
	// A code issued after a new sign-in works.
	env.login(testUser, "a brand new password")
	verifier, challenge = pkce()
	if resp, tok := env.exchange(env.code(authzParams("public-app", publicRedirect, challenge)), verifier); resp.StatusCode != http.StatusOK {
		t.Fatalf("a code after the new sign-in = %d %v", resp.StatusCode, tok)
	}
}
