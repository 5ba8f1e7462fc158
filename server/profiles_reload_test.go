package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// TestReloadSwapsProfilesAtomically: while tokens are issued from several
// goroutines, the policy flips between two profile sets. Every token must
// carry one set's scope ceiling together with the same set's lifetime,
// never one's scope with the other's lifetime, and both sets must have
// been seen (the flips really happened under load).
func TestReloadSwapsProfilesAtomically(t *testing.T) {
	e := newOAuthEnv(t)
	cur := e.srv.policy()
	build := func(scope string, ttl time.Duration) Policy {
		ps, err := policy.NewProfiles([]policy.Profile{{Name: "robots", Match: policy.ProfileMatch{ClientIDs: []string{"conf-app"}},
			Ceilings: policy.Ceilings{Scopes: []string{scope}, AccessTokenTTL: ttl}}},
			policy.ProfileDefaults{AccessTokenTTL: e.srv.cfg.AccessTokenTTL, RefreshTokenMaxTTL: e.srv.cfg.RefreshMaxTTL})
		if err != nil {
			t.Fatal(err)
		}
		return Policy{Clients: cur.clients, Resources: cur.resources.list, Register: cur.register, Profiles: ps}
	}
	a, b := build("files:read", 5*time.Minute), build("files:write", 2*time.Minute)
	want := map[string]float64{"files:read": 300, "files:write": 120}
	if err := e.srv.SetPolicy(a); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var flips atomic.Int64
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := a
			if i%2 == 0 {
				p = b
			}
			if err := e.srv.SetPolicy(p); err != nil {
				t.Error(err)
				return
			}
			flips.Add(1)
		}
	}()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {testResource}, "scope": {"files:read files:write"}}.Encode()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				req, _ := http.NewRequest(http.MethodPost, e.http.URL+tokenPath, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("conf-app", testSecret)
				resp, body := e.doJSON(req)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("token = %d %v", resp.StatusCode, body)
					return
				}
				scope, _ := body["scope"].(string)
				claims := parseAccessTokenClaims(t, e, body["access_token"].(string))
				lifetime := claims.Expiry.Time().Sub(claims.IssuedAt.Time()).Seconds()
				if body["expires_in"] != want[scope] || lifetime != want[scope] || claims.Scope != scope {
					t.Errorf("a mix of two profiles: scope %q, expires_in %v, token lifetime %vs, token scope %q", scope, body["expires_in"], lifetime, claims.Scope)
				}
				mu.Lock()
				seen[fmt.Sprint(scope)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if seen["files:read"] == 0 || seen["files:write"] == 0 || flips.Load() < 2 {
		t.Fatalf("tokens per profile set %v after %d flips: both sets must have issued tokens", seen, flips.Load())
	}
}
