package main

// After each restart every chain is checked: the write in flight at the
// kill, if any, must be wholly applied or wholly absent, and every
// acknowledged write must still be there and behave.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// verify checks every chain of the worker. It returns an error only for
// answers that make checking impossible (a 5xx, a transport error).
func (w *worker) verify(ctx context.Context, adm *adminAPI) error {
	var keepChains []*chain
	for _, c := range w.chains {
		if err := w.resolve(ctx, c, adm); err != nil {
			return err
		}
		if c.id == "" {
			continue // an unacknowledged registration, now resolved
		}
		if err := w.verifyChain(ctx, c); err != nil {
			return err
		}
		keepChains = append(keepChains, c)
	}
	w.chains = keepChains
	return nil
}

// must turns a transport error or a 5xx during checking into an error.
func must(op string, an answer) error {
	if an.inFlight() || an.status >= 500 {
		return unexpected(op, an)
	}
	return nil
}

// resolve settles the write in flight at the kill.
func (w *worker) resolve(ctx context.Context, c *chain, adm *adminAPI) error {
	p := c.pending
	if p == nil {
		return nil
	}
	c.pending = nil
	t := w.tally
	switch p.kind {
	case "register":
		found, whole, err := adm.findRegistration(ctx, p.reg)
		if err != nil {
			return err
		}
		t.resolve(!found || whole, found, "register", "client %q exists but its registration differs from what was sent", p.reg.ClientName)
	case "update":
		an := w.a.readRegistration(ctx, c)
		if err := must("read registration", an); err != nil {
			return err
		}
		applied, absent := an.status == http.StatusOK && p.reg.matches(an.body), an.status == http.StatusOK && c.reg.matches(an.body)
		t.resolve(applied || absent, applied, "update", "client %s: the registration is neither the old nor the new one: %s", c.id, an)
		if applied {
			c.reg, c.consent = p.reg, false
		}
	case "delete":
		an := w.a.readRegistration(ctx, c)
		if err := must("read registration", an); err != nil {
			return err
		}
		applied := an.status == http.StatusUnauthorized
		t.resolve(applied || an.status == http.StatusOK, applied, "delete", "client %s: %s", c.id, an)
		if applied {
			c.deleted, c.retired = true, true
			c.grantEnded()
		}
	case "exchange":
		// Redeem the same code again: 200 if the first redemption never
		// happened; invalid_grant if it did (and this replay has now
		// revoked what it issued).
		an := w.a.exchange(ctx, c, p.code, p.verifier)
		if err := must("exchange", an); err != nil {
			return err
		}
		switch {
		case an.status == http.StatusOK:
			w.issued(c, an, p.code, p.verifier)
			t.resolve(true, false, "exchange", "")
		case an.str("error") == "invalid_grant":
			t.resolve(true, true, "exchange", "")
		default:
			t.resolve(false, false, "exchange", "client %s: %s", c.id, an)
		}
	case "refresh":
		// Present the same refresh token: 200 if the rotation never
		// happened (or within the grace period); invalid_grant if it did
		// (reuse, which revokes the grant).
		an := w.a.refresh(ctx, c, p.token)
		if err := must("refresh", an); err != nil {
			return err
		}
		switch {
		case an.status == http.StatusOK:
			w.issued(c, an, "", "")
			t.resolve(true, false, "refresh", "")
		case an.str("error") == "invalid_grant":
			c.grantEnded()
			t.resolve(true, true, "refresh", "")
		default:
			t.resolve(false, false, "refresh", "client %s: %s", c.id, an)
		}
	case "revoke_access":
		an := w.a.introspectRS(ctx, p.token)
		if err := must("introspect", an); err != nil {
			return err
		}
		active, ok := activeIn(an)
		t.resolve(ok, !active, "revoke", "client %s: introspection answered %s", c.id, an)
		if ok && !active {
			c.revoked, c.accessLive = push(c.revoked, p.token), false
		}
	case "revoke_refresh", "replay":
		an := w.a.introspect(ctx, c, p.token)
		if err := must("introspect", an); err != nil {
			return err
		}
		active, ok := activeIn(an)
		t.resolve(ok, !active, p.kind, "client %s: introspection answered %s", c.id, an)
		if ok && !active {
			c.grantEnded()
			c.retired = c.retired || p.kind == "replay"
		}
	case "consent":
		// Either outcome is whole; the next authorization shows which.
		t.resolve(true, false, "consent", "")
	}
	return nil
}

// verifyChain checks every acknowledged write of a chain.
func (w *worker) verifyChain(ctx context.Context, c *chain) error {
	t := w.tally
	an := w.a.readRegistration(ctx, c)
	if err := must("read registration", an); err != nil {
		return err
	}
	if c.deleted {
		t.check(an.status == http.StatusUnauthorized, "delete", "client %s was deleted but reads back: %s", c.id, an)
	} else {
		t.check(an.status == http.StatusOK && c.reg.matches(an.body), "registration", "client %s: %s", c.id, an)
	}
	for _, tok := range c.revoked {
		if c.deleted && strings.HasPrefix(tok, refreshPrefix) {
			continue // only its own (deleted) client may ask about a refresh token
		}
		if err := w.checkInactive(ctx, c, tok, "revocation"); err != nil {
			return err
		}
	}
	if c.deleted {
		return nil
	}
	for _, tok := range c.rotated {
		if err := w.checkInactive(ctx, c, tok, "rotation"); err != nil {
			return err
		}
	}
	if c.accessLive && time.Until(c.accessExp) > 5*time.Second {
		an := w.a.introspectRS(ctx, c.access)
		if err := must("introspect", an); err != nil {
			return err
		}
		active, ok := activeIn(an)
		t.check(ok && active, "access_token", "client %s: an issued access token is not active: %s", c.id, an)
	}
	if c.retired {
		return nil
	}
	if c.code != "" {
		if time.Since(c.codeAt) < codeUsable {
			code, verifier := c.code, c.verifier
			c.code = ""
			an := w.a.exchange(ctx, c, code, verifier)
			if err := must("exchange", an); err != nil {
				return err
			}
			if t.check(an.status == http.StatusOK, "code", "client %s: an issued code does not redeem: %s", c.id, an) {
				w.issued(c, an, code, verifier)
			}
		}
		c.code = ""
	}
	if c.refresh != "" {
		an := w.a.refresh(ctx, c, c.refresh)
		if err := must("refresh", an); err != nil {
			return err
		}
		if t.check(an.status == http.StatusOK, "refresh_token", "client %s: an issued refresh token does not refresh: %s", c.id, an) {
			w.issued(c, an, "", "")
		} else {
			c.refresh = ""
		}
	}
	if c.consent {
		// An authorization must go straight back with a code: no consent
		// page (and, once signed in, no sign-in page).
		signedIn := w.b.signedIn
		verifier, challenge := pkce()
		az, err := w.b.authorize(ctx, c, challenge)
		if err != nil || az.stage != "" {
			return fmt.Errorf("authorize while checking: %v %s", err, az.last)
		}
		t.check(!az.consentSeen, "consent", "client %s: an acknowledged approval was forgotten", c.id)
		if signedIn {
			t.check(!az.loginShown, "session", "an acknowledged sign-in was forgotten")
		}
		c.code, c.verifier, c.codeAt = az.code, verifier, time.Now()
	}
	return nil
}

// refreshPrefix starts Gatehouse's refresh tokens (access tokens are JWTs).
const refreshPrefix = "ghr_"

// checkInactive checks that a revoked or rotated token stays dead.
func (w *worker) checkInactive(ctx context.Context, c *chain, token, kind string) error {
	var an answer
	if strings.HasPrefix(token, refreshPrefix) {
		an = w.a.introspect(ctx, c, token)
	} else {
		an = w.a.introspectRS(ctx, token)
	}
	if err := must("introspect", an); err != nil {
		return err
	}
	active, ok := activeIn(an)
	w.tally.check(ok && !active, kind, "client %s: a %s token is active again: %s", c.id, kind, an)
	return nil
}

// adminAPI reads what the server holds, for writes whose answer was lost
// before the client learnt the new client's ID.
type adminAPI struct {
	a     *agent
	token string
}

// findRegistration looks for a client registered under r's unique name;
// whole reports whether its metadata is exactly r.
func (m *adminAPI) findRegistration(ctx context.Context, r registration) (found, whole bool, err error) {
	an := m.get(ctx, "/clients?kind=dcr")
	if an.inFlight() || an.status != http.StatusOK {
		return false, false, unexpected("admin clients", an)
	}
	var rows []struct {
		ID   string `json:"client_id"`
		Name string `json:"client_name"`
	}
	if err := json.Unmarshal([]byte(an.raw), &rows); err != nil {
		return false, false, err
	}
	for _, row := range rows {
		if row.Name != r.ClientName {
			continue
		}
		info := m.get(ctx, "/clients/info?id="+url.QueryEscape(row.ID))
		if info.inFlight() || info.status != http.StatusOK {
			return true, false, unexpected("admin client info", info)
		}
		md, _ := info.body["metadata"].(map[string]any)
		return true, r.matches(md), nil
	}
	return false, false, nil
}

func (m *adminAPI) get(ctx context.Context, path string) answer {
	req, _ := http.NewRequest(http.MethodGet, m.a.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
	return m.a.do(ctx, "admin", req, nil)
}
