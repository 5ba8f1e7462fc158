//go:build e2e

package e2e

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSeveralInstancesOnPostgres runs two real `gatehouse serve` processes
// on one real PostgreSQL database behind one balancer and checks that they
// behave as one: flows cross instances, single-use and reuse rules hold
// across them, a key is published everywhere before it signs, admin
// actions and reloads reach the other instance by LISTEN/NOTIFY (the
// time each took is logged; tens of milliseconds), and one instance
// killed under load loses no acknowledged write.
func TestSeveralInstancesOnPostgres(t *testing.T) {
	c := startCluster(t)
	t.Run("flow crosses instances", func(t *testing.T) { testCrossInstanceFlow(t, c) })
	t.Run("long request signed in on the other instance", func(t *testing.T) { testLongRequestAcross(t, c) })
	t.Run("one code, concurrent redemptions on both", func(t *testing.T) { testConcurrentRedemptionAcross(t, c) })
	t.Run("refresh reuse detected on the other instance", func(t *testing.T) { testRefreshReuseAcross(t, c) })
	t.Run("key published everywhere before it signs", func(t *testing.T) { testKeyPublishAhead(t, c) })
	t.Run("per-account sign-in limit counts both instances", func(t *testing.T) { testAccountLimitAcross(t, c) })
	t.Run("cache purge reaches the other instance", func(t *testing.T) { testPurgeAcross(t, c) })
	t.Run("reload reaches the other instance", func(t *testing.T) { testReloadAcross(t, c) })
	t.Run("kill -9 under load", func(t *testing.T) { testKillUnderLoad(t, c) })
}

// Authorize, sign in and consent on A; token, refresh, introspection,
// revocation and RFC 7592 management on B.
func testCrossInstanceFlow(t *testing.T, c *cluster) {
	reg := c.confidentialClient(t, c.direct[0], "cross-instance")
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	code, verifier := c.authorizeOn(t, 0, id)
	status, tok := tokenAt(t, c.direct[1], url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {driverRedirect}, "code_verifier": {verifier}, "resource": {clusterResource}}, id, secret)
	if status != http.StatusOK {
		t.Fatalf("code from A redeemed on B: %d %v", status, tok)
	}
	status, refreshed := tokenAt(t, c.direct[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, id, secret)
	if status != http.StatusOK {
		t.Fatalf("refresh on A of B's token: %d %v", status, refreshed)
	}
	var intro map[string]any
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	h.Set("Authorization", basicAuth(id, secret))
	call(t, http.MethodPost, c.direct[1]+"/introspect", h, strings.NewReader(url.Values{"token": {refreshed["access_token"].(string)}}.Encode()), &intro)
	if intro["active"] != true {
		t.Fatalf("introspection on B of A's access token: %v", intro)
	}
	var mgmt map[string]any
	if status := call(t, http.MethodGet, strings.Replace(reg["registration_client_uri"].(string), c.issuer, c.direct[1], 1),
		http.Header{"Authorization": {"Bearer " + reg["registration_access_token"].(string)}}, nil, &mgmt); status != http.StatusOK || mgmt["client_id"] != id {
		t.Fatalf("RFC 7592 read on B of a client registered on A: %d %v", status, mgmt)
	}
	if status := call(t, http.MethodPost, c.direct[1]+"/revoke", h, strings.NewReader(url.Values{"token": {refreshed["refresh_token"].(string)}}.Encode()), nil); status != http.StatusOK {
		t.Fatalf("revoke on B: %d", status)
	}
	if status, body := tokenAt(t, c.direct[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed["refresh_token"].(string)}}, id, secret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("refresh on A after revocation on B: %d %v", status, body)
	}
}

func basicAuth(id, secret string) string {
	return "Basic " + base64Std(url.QueryEscape(id)+":"+url.QueryEscape(secret))
}

// One code sent to both instances at once, eight times each: exactly one
// token response.
func testConcurrentRedemptionAcross(t *testing.T, c *cluster) {
	reg := c.confidentialClient(t, c.issuer, "concurrent-redemption")
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	code, verifier := c.authorizeOn(t, 0, id)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {driverRedirect},
		"code_verifier": {verifier}, "resource": {clusterResource}}
	const each = 8
	statuses := make(chan int, 2*each)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, _ := tokenAt(t, c.direct[i%2], url.Values(cloneValues(form)), id, secret)
			statuses <- status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d token responses for one code redeemed on two instances, want exactly 1", ok)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// A refresh token rotated on A and presented again on B revokes the grant
// (the cluster runs with refresh_token_grace_period 0s).
func testRefreshReuseAcross(t *testing.T, c *cluster) {
	reg := c.confidentialClient(t, c.issuer, "refresh-reuse")
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	code, verifier := c.authorizeOn(t, 1, id)
	_, tok := tokenAt(t, c.direct[1], url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {driverRedirect}, "code_verifier": {verifier}, "resource": {clusterResource}}, id, secret)
	first := tok["refresh_token"].(string)
	status, next := tokenAt(t, c.direct[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}}, id, secret)
	if status != http.StatusOK {
		t.Fatalf("rotate on A: %d %v", status, next)
	}
	if status, body := tokenAt(t, c.direct[1], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}}, id, secret); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("reuse on B: %d %v, want invalid_grant", status, body)
	}
	if status, body := tokenAt(t, c.direct[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}}, id, secret); status != http.StatusBadRequest {
		t.Fatalf("the newest token after reuse was detected on the other instance: %d %v; the grant must be revoked", status, body)
	}
	if countLogLines(t, c.procs[1].logPath, "event=refresh_reuse") == 0 {
		t.Error("instance B logged no refresh_reuse audit event")
	}
}

// A key rotated on A is in both JWKS before either instance signs with it,
// and then both sign only with it.
func testKeyPublishAhead(t *testing.T, c *cluster) {
	svcToken := func(i int) string {
		status, body := tokenAt(t, c.direct[i], url.Values{"grant_type": {"client_credentials"}, "resource": {clusterResource}}, svcClient, svcSecret)
		if status != http.StatusOK {
			t.Fatalf("client_credentials on instance %d: %d %v", i, status, body)
		}
		return body["access_token"].(string)
	}
	old := kidOf(t, svcToken(0))
	var rotated struct {
		KID         string    `json:"kid"`
		ActivatesAt time.Time `json:"activates_at"`
	}
	if status := c.adminCall(t, 0, http.MethodPost, "/keys/rotate", &rotated); status != http.StatusOK || rotated.KID == "" || rotated.ActivatesAt.IsZero() {
		t.Fatalf("rotate on A: %d %+v; want a key published ahead", status, rotated)
	}
	took := eventually(t, announced, "the new key in B's JWKS", func() bool { return jwksKids(t, c.direct[1])[rotated.KID] })
	t.Logf("B published the key %v after the rotation on A", took)
	wantAnnounced(t, c, "keys", rotated.KID, 1)
	// Until both sign with the new key, every token carries a kid both
	// instances publish, and none carries the new kid before activation.
	switched := [2]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !switched[0] || !switched[1] {
		if time.Now().After(deadline) {
			t.Fatalf("the instances did not both switch to %s (switched %v)", rotated.KID, switched)
		}
		for i := range 2 {
			token := svcToken(i)
			kid := kidOf(t, token)
			// iat is when the instance signed (whole seconds, rounded down),
			// however long the request took on a loaded machine.
			if iat := issuedAt(t, token); kid == rotated.KID && iat < rotated.ActivatesAt.Unix() {
				t.Fatalf("instance %d signed with the new key at %d, before its activation at %v", i, iat, rotated.ActivatesAt)
			}
			for j := range 2 {
				if !jwksKids(t, c.direct[j])[kid] {
					t.Fatalf("instance %d signed with %s, which instance %d does not publish", i, kid, j)
				}
			}
			if kid != old && kid != rotated.KID {
				t.Fatalf("instance %d signed with %s, neither the old nor the new key", i, kid)
			}
			switched[i] = kid == rotated.KID
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !jwksKids(t, c.direct[0])[old] || !jwksKids(t, c.direct[1])[old] {
		t.Fatal("the old key left a JWKS while tokens it signed are still valid")
	}
}

// A CIMD document cached on B is purged there when an operator purges it
// on A; the cache itself is per instance.
func testPurgeAcross(t *testing.T, c *cluster) {
	clientID := c.docs.addClient(t, "purged", driverRedirect)
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {driverRedirect},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "resource": {clusterResource}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(c.direct[1] + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cached := func(i int) bool {
		var entries []map[string]any
		c.adminCall(t, i, http.MethodGet, "/cache", &entries)
		for _, e := range entries {
			if e["client_id"] == clientID {
				return true
			}
		}
		return false
	}
	if !cached(1) {
		t.Fatalf("B did not cache %s after /authorize (status %d)", clientID, resp.StatusCode)
	}
	if cached(0) {
		t.Fatal("A has B's cache entry: the CIMD cache must stay per instance")
	}
	if status := c.adminCall(t, 0, http.MethodDelete, "/cache/entry?url="+url.QueryEscape(clientID), nil); status != http.StatusNoContent {
		t.Fatalf("purge on A: %d", status)
	}
	took := eventually(t, announced, "the purge on A reaching B", func() bool { return !cached(1) })
	t.Logf("B purged the entry %v after A", took)
	wantAnnounced(t, c, "cache_purge", clientID, 1)
}

// An operator reload on A (dcr.mode closed in the shared file) is applied
// by B on A's announcement; reopening works the same way.
func testReloadAcross(t *testing.T, c *cluster) {
	registers := func(i int) int {
		return call(t, http.MethodPost, c.direct[i]+"/register", http.Header{"Content-Type": {"application/json"}},
			strings.NewReader(`{"redirect_uris":["`+driverRedirect+`"],"token_endpoint_auth_method":"none"}`), nil)
	}
	if s := registers(1); s != http.StatusCreated {
		t.Fatalf("registration on B before the change: %d", s)
	}
	c.writeConfig(t, strings.Replace(c.cfg, "  mode: open\n", "  mode: closed\n", 1))
	if status := c.adminCall(t, 0, http.MethodPost, "/reload", nil); status != http.StatusOK {
		t.Fatalf("reload on A: %d", status)
	}
	took := eventually(t, announced, "B closing registration after A's reload", func() bool { return registers(1) != http.StatusCreated })
	t.Logf("B reloaded %v after A", took)
	wantAnnounced(t, c, "reload", "", 1)
	c.writeConfig(t, c.cfg)
	c.adminCall(t, 0, http.MethodPost, "/reload", nil)
	eventually(t, announced, "B reopening registration", func() bool { return registers(1) == http.StatusCreated })
	wantAnnounced(t, c, "reload", "", 2)
}

// Registrations and refresh rotations through the balancer while instance
// B is killed with SIGKILL: A keeps serving, and every write a client got
// an answer for is there afterwards (each registration reads back on A
// with its own token; each client's last refresh token still works).
func testKillUnderLoad(t *testing.T, c *cluster) {
	const workers = 4
	// uncertain: a rotation's answer was lost with the killed instance, so
	// whether it committed is unknown; the chain stops there (presenting
	// the old token again would be reuse) and is not checked.
	type chain struct {
		id, secret, refresh string
		uncertain           bool
	}
	chains := make([]*chain, workers)
	for i := range workers {
		reg := c.confidentialClient(t, c.issuer, fmt.Sprintf("load-%d", i))
		id, secret := reg["client_id"].(string), reg["client_secret"].(string)
		code, verifier := c.authorizeOn(t, i%2, id)
		_, tok := tokenAt(t, c.issuer, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {driverRedirect}, "code_verifier": {verifier}, "resource": {clusterResource}}, id, secret)
		chains[i] = &chain{id: id, secret: secret, refresh: tok["refresh_token"].(string)}
	}
	type registration struct{ uri, token string }
	var (
		mu        sync.Mutex
		acked     []registration
		rotations int
		failures  int
		afterKill int
		killed    = make(chan struct{})
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		seq       atomic.Int64
		// Each registration differs (its name), so none is deduplicated
		// into another's record.
		body = func() string {
			return fmt.Sprintf(`{"client_name":"load-%d","redirect_uris":["%s"],"token_endpoint_auth_method":"none"}`, seq.Add(1), driverRedirect)
		}
		isAfterKill = func() bool {
			select {
			case <-killed:
				return true
			default:
				return false
			}
		}
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := chains[w]
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%2 == 0 {
					var reg map[string]any
					status := callNoFatal(http.MethodPost, c.issuer+"/register", http.Header{"Content-Type": {"application/json"}}, body(), &reg)
					mu.Lock()
					if status == http.StatusCreated {
						acked = append(acked, registration{reg["registration_client_uri"].(string), reg["registration_access_token"].(string)})
						if isAfterKill() {
							afterKill++
						}
					} else {
						failures++
					}
					mu.Unlock()
					continue
				}
				var tok map[string]any
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ch.refresh}}
				status := callNoFatal(http.MethodPost, c.issuer+"/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
					"Authorization": {basicAuth(ch.id, ch.secret)}}, form.Encode(), &tok)
				mu.Lock()
				if status == http.StatusOK {
					ch.refresh = tok["refresh_token"].(string)
					rotations++
				} else {
					failures++
					ch.uncertain = status == http.StatusBadGateway || status == 0
				}
				mu.Unlock()
				if status != http.StatusOK {
					if !ch.uncertain {
						t.Errorf("client %s: refresh refused with %d %v", ch.id, status, tok)
					}
					n = -1 // registrations only from now on
					for {
						select {
						case <-stop:
							return
						default:
						}
						var reg map[string]any
						st := callNoFatal(http.MethodPost, c.issuer+"/register", http.Header{"Content-Type": {"application/json"}}, body(), &reg)
						mu.Lock()
						if st == http.StatusCreated {
							acked = append(acked, registration{reg["registration_client_uri"].(string), reg["registration_access_token"].(string)})
							if isAfterKill() {
								afterKill++
							}
						} else {
							failures++
						}
						mu.Unlock()
					}
				}
			}
		}()
	}
	var stopOnce sync.Once
	stopLoad := func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	defer stopLoad() // also when a wait below fails
	// Counted, not timed: the kill comes once the load is flowing, and the
	// load stops once A has acknowledged registrations after it, however
	// slow the machine is.
	counted := func(f func() bool) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return f() }
	}
	eventually(t, time.Minute, "writes acknowledged before the kill", counted(func() bool { return len(acked) >= 20 && rotations >= 20 }))
	if err := c.procs[1].cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	close(killed)
	eventually(t, time.Minute, "registrations acknowledged by A after the kill", counted(func() bool { return afterKill >= 20 }))
	stopLoad()
	<-c.procs[1].done
	t.Logf("under load: %d registrations and %d refresh rotations acknowledged (%d registrations after the kill), %d requests failed",
		len(acked), rotations, afterKill, failures)
	if afterKill == 0 {
		t.Fatal("no registration succeeded after B was killed: A did not keep serving")
	}
	for _, r := range acked {
		u := strings.Replace(r.uri, c.issuer, c.direct[0], 1)
		if status := call(t, http.MethodGet, u, http.Header{"Authorization": {"Bearer " + r.token}}, nil, nil); status != http.StatusOK {
			t.Fatalf("acknowledged registration %s reads back as %d", r.uri, status)
		}
	}
	for _, ch := range chains {
		if ch.uncertain {
			continue
		}
		status, body := tokenAt(t, c.direct[0], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ch.refresh}}, ch.id, ch.secret)
		if status != http.StatusOK {
			t.Fatalf("client %s: its last acknowledged refresh token fails on A: %d %v", ch.id, status, body)
		}
	}
}

// Failed sign-ins for one account spread over both instances count
// together: with login.max_failures_per_account 4, three wrong passwords on
// A and two on B (the level drains a little between them, so the fifth
// takes it past 4) slow the account on either instance; alone, neither has
// seen four. The right password still signs in.
func testAccountLimitAcross(t *testing.T, c *cluster) {
	const account = "bob"
	runCmd(t, "bob's long password\n", gatehouseBin, "user", "add", account, "--password-stdin", "--config", c.cfgPath)
	signIn := func(i int, password string) int {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(c.direct[i] + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no sign-in form on instance %d", i)
		}
		resp, err = client.PostForm(c.direct[i]+"/login", url.Values{"csrf_token": {html.UnescapeString(string(m[1]))}, "username": {account}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	slowed := func(i int) int {
		return countLogLines(t, c.procs[i].logPath, "event=login_slowed", "username="+account)
	}
	for _, i := range []int{0, 1, 0, 1, 0} {
		if status := signIn(i, "wrong password"); status == http.StatusSeeOther {
			t.Fatal("a wrong password signed in")
		}
	}
	if slowed(0)+slowed(1) != 0 {
		t.Fatal("the account was slowed before its failures reached the limit")
	}
	if status := signIn(1, "wrong password"); status == http.StatusSeeOther {
		t.Fatal("a wrong password signed in")
	}
	if slowed(1) == 0 {
		t.Fatal("B did not slow the account after five failures, three of them on A: the count is not shared")
	}
	if status := signIn(0, "bob's long password"); status != http.StatusSeeOther {
		t.Fatalf("the right password on A while the account is slowed: %d, want 303", status)
	}
	if slowed(0) == 0 {
		t.Fatal("A did not slow the account either")
	}
}
