package server

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The clock steps forward and back by minutes (an NTP correction, a
// virtual machine resumed from a snapshot), with the sweeper running in
// the stepped-forward time. Two promises hold:
//
//   - no token is accepted more than the backward step after its exp
//     (measured in true time, which only moves forward);
//   - a redeemed code, a rotated refresh token and a used client
//     assertion never become usable again.
func TestClockSteps(t *testing.T) {
	const step = 5 * time.Minute
	env := newOAuthEnv(t)
	ctx := context.Background()
	truth := env.clock.Now() // true time: moves only forward
	// pass lets time pass; jump steps the server's clock (forward or back)
	// while true time stands still.
	pass := func(d time.Duration) { env.clock.Advance(d); truth = truth.Add(d) }
	jump := func(d time.Duration) { env.clock.Advance(d) }
	sweep := func() { env.srv.sweep(ctx) }

	// accessActive checks the first promise for an access token: if the
	// server says it is active, true time is within step of its exp.
	accessActive := func(token string) bool {
		t.Helper()
		active := env.introspect(t, token)
		if active {
			exp := accessExp(t, token)
			if late := truth.Sub(exp); late > step {
				t.Fatalf("an access token is active %v after its exp (the clock stepped back only %v)", late, step)
			}
		}
		return active
	}
	confCode := func() (string, string) {
		verifier, challenge := pkce()
		return env.code(authzParams("conf-app", confRedirect, challenge)), verifier
	}
	redeem := func(code, verifier string) (*http.Response, map[string]any) {
		return env.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {confRedirect}}, "conf-app", testSecret)
	}
	refresh := func(rt string) (*http.Response, map[string]any) {
		return env.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "conf-app", testSecret)
	}

	// t0: a code redeemed, its refresh token rotated once, a code left
	// unredeemed, a client assertion used.
	code1, ver1 := confCode()
	resp, tok1 := redeem(code1, ver1)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redeem = %d %v", resp.StatusCode, tok1)
	}
	at1, rt1 := tok1["access_token"].(string), tok1["refresh_token"].(string)
	resp, tok2 := refresh(rt1)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d %v", resp.StatusCode, tok2)
	}
	at2, rt2 := tok2["access_token"].(string), tok2["refresh_token"].(string)
	code2, ver2 := confCode()
	assertion := env.assertion(t, assertionOpts{})
	if status, body := env.clientCredentialsWith(assertion); status != http.StatusOK {
		t.Fatalf("client_credentials = %d %v", status, body)
	}

	// Back by the step right away: the redeemed code stays redeemed, the
	// rotated refresh token stays rotated, the assertion stays used.
	jump(-step)
	if resp, body := redeem(code1, ver1); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("a redeemed code after the clock stepped back = %d %v", resp.StatusCode, body)
	}
	if env.introspect(t, rt1) {
		t.Fatal("a rotated refresh token is active after the clock stepped back")
	}
	if status, body := env.clientCredentialsWith(assertion); status == http.StatusOK {
		t.Fatalf("a used client assertion was accepted again after the clock stepped back: %v", body)
	}
	// (code1's replay revoked its grant: at1, at2 and rt2 are dead now.)
	if accessActive(at1) || accessActive(at2) || env.introspect(t, rt2) {
		t.Fatal("tokens of a grant revoked by a code replay are active")
	}
	jump(step)

	// Past every lifetime the store keeps (codes are remembered 11 minutes,
	// assertions until their exp), with the sweeper running.
	pass(12 * time.Minute)
	sweep()
	// Back by the step: the unredeemed code2 (expired 11 minutes ago in
	// true time), the replayed code1 and the swept assertion stay unusable.
	jump(-step)
	if resp, body := redeem(code2, ver2); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("an expired code after the clock stepped forward and back = %d %v", resp.StatusCode, body)
	}
	if resp, body := redeem(code1, ver1); resp.StatusCode == http.StatusOK {
		t.Fatalf("a redeemed code was redeemed again after the sweeper and a backward step: %v", body)
	}
	if status, body := env.clientCredentialsWith(assertion); status == http.StatusOK {
		t.Fatalf("a used client assertion was accepted again after the sweeper and a backward step: %v", body)
	}
	jump(step)

	// A fresh grant; its access token lives 10 minutes. 12 minutes pass,
	// so it has expired; the clock steps back: if it is active again, it is
	// at most the step past its exp (accessActive checks).
	code3, ver3 := confCode()
	resp, tok3 := redeem(code3, ver3)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redeem = %d %v", resp.StatusCode, tok3)
	}
	at3, rt3 := tok3["access_token"].(string), tok3["refresh_token"].(string)
	pass(12 * time.Minute)
	sweep()
	if accessActive(at3) {
		t.Fatal("an access token is active 2 minutes after its exp")
	}
	jump(-step)
	accessActive(at3)
	// Its refresh token still refreshes once (idle lifetime 24 h), and the
	// rotated one is dead however the clock moves.
	resp, tok4 := refresh(rt3)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after the steps = %d %v", resp.StatusCode, tok4)
	}
	jump(step)
	sweep()
	jump(-step)
	if env.introspect(t, rt3) {
		t.Fatal("a rotated refresh token is active again after the clock stepped back")
	}
}

// A client assertion is single-use (RFC 7523 §3, jti): once its jti is
// recorded, it must stay refused even when the sweeper ran after its exp
// and the clock then steps back to before it, by up to assertionIDKeep.
func TestClockStepsDoNotReviveAClientAssertion(t *testing.T) {
	for _, after := range []time.Duration{3 * time.Minute, 10 * time.Minute, 2*time.Minute + assertionIDKeep} {
		env := newOAuthEnv(t)
		assertion := env.assertion(t, assertionOpts{}) // exp in 2 minutes
		if status, body := env.clientCredentialsWith(assertion); status != http.StatusOK {
			t.Fatalf("client_credentials = %d %v", status, body)
		}
		env.clock.Advance(after) // past its exp
		env.srv.sweep(context.Background())
		env.clock.Advance(-after) // the clock steps back as far
		if status, body := env.clientCredentialsWith(assertion); status == http.StatusOK {
			t.Fatalf("a used client assertion was accepted again %v later, after the sweeper and a backward step: %v", after, body)
		}
	}
}

// accessExp reads a JWT access token's exp without verifying it (the
// server has, by answering active).
func accessExp(t *testing.T, token string) time.Time {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c.Expiry.Time()
}
