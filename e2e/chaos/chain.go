package main

// A chain is one registered client's life: registration, authorizations,
// code exchanges, refreshes, revocations, RFC 7592 updates, retirement.
// Each chain belongs to one worker, which drives it one request at a
// time, so its state needs no lock. The chain remembers every write the
// server acknowledged, and the one write, if any, whose answer was lost
// when the server died (pending).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// chain is a client and what the server acknowledged about it.
type chain struct {
	name            string
	id, secret, rat string
	reg             registration // the acknowledged metadata

	pending *pending // the write in flight when the server died

	consent  bool   // an approval was acknowledged: consent must not be asked again
	code     string // an acknowledged, unredeemed authorization code
	verifier string
	codeAt   time.Time

	access     string // the newest access token, expected active while accessLive
	accessExp  time.Time
	accessLive bool
	refresh    string // the current refresh token ("" when the grant is gone)
	grantCode  string // the code that began the current grant, and its verifier
	grantVer   string

	rotated []string // refresh tokens rotated away: inactive from then on
	revoked []string // tokens revoked (directly or with their grant): inactive
	deleted bool     // the registration was deleted (RFC 7592 §2.3)
	retired bool     // no more load: only its lasting facts are checked
}

// pending is a write whose answer never came: after the restart it must
// be wholly applied or wholly absent.
type pending struct {
	kind     string // register, update, delete, exchange, refresh, revoke_access, revoke_refresh, replay, consent
	reg      registration
	code     string
	verifier string
	token    string
}

// keep bounds the token lists each chain re-checks after every restart.
const keep = 16

func push(list []string, s string) []string {
	list = append(list, s)
	if len(list) > keep {
		list = list[len(list)-keep:]
	}
	return list
}

// worker drives its chains and keeps the tally.
type worker struct {
	id     int
	a      *agent
	b      *browser
	rng    *rand.Rand
	chains []*chain
	tally  *tally
	// killing reports that the server is being killed, so that a
	// transport error is expected rather than a failure.
	killing func() bool
	// maxLive bounds the chains under load; retired ones are only checked.
	maxLive int
}

// errStop ends a worker's round: a request's answer was lost.
var errStop = fmt.Errorf("request in flight at the kill")

// step runs one random operation. It returns errStop after a transport
// error during a kill, or an error for an answer no correct server gives.
func (w *worker) step(ctx context.Context) error {
	live := w.live()
	if len(live) < w.maxLive && (len(live) == 0 || w.rng.IntN(8) == 0) {
		return w.register(ctx)
	}
	c := live[w.rng.IntN(len(live))]
	switch {
	case c.code != "":
		return w.exchange(ctx, c)
	case c.refresh == "":
		return w.authorize(ctx, c)
	}
	switch r := w.rng.IntN(20); {
	case r < 8:
		return w.refreshOp(ctx, c)
	case r < 10:
		return w.authorize(ctx, c)
	case r < 12:
		return w.revokeAccess(ctx, c)
	case r < 15:
		return w.update(ctx, c)
	case r < 16:
		return w.revokeRefresh(ctx, c)
	case r < 18:
		return w.replay(ctx, c)
	default:
		return w.delete(ctx, c)
	}
}

func (w *worker) live() []*chain {
	var out []*chain
	for _, c := range w.chains {
		if !c.retired && c.id != "" {
			out = append(out, c)
		}
	}
	return out
}

// lost handles an answer that did not come: expected while the server is
// being killed (the write becomes pending), a failure otherwise.
func (w *worker) lost(op string, an answer, c *chain, p *pending) error {
	if !w.killing() {
		return unexpected(op, an)
	}
	if p != nil {
		c.pending = p
	}
	return errStop
}

func (w *worker) register(ctx context.Context) error {
	c := &chain{name: randomName(fmt.Sprintf("chaos-w%d", w.id))}
	c.reg = registration{ClientName: c.name, RedirectURIs: []string{redirectURI}}
	w.chains = append(w.chains, c)
	an := w.a.register(ctx, c.reg)
	if an.inFlight() {
		return w.lost("register", an, c, &pending{kind: "register", reg: c.reg})
	}
	if an.status != http.StatusCreated || an.str("client_id") == "" || an.str("client_secret") == "" || an.str("registration_access_token") == "" {
		return unexpected("register", an)
	}
	c.id, c.secret, c.rat = an.str("client_id"), an.str("client_secret"), an.str("registration_access_token")
	w.tally.wrote("register")
	return nil
}

func (w *worker) authorize(ctx context.Context, c *chain) error {
	verifier, challenge := pkce()
	signedIn := w.b.signedIn
	az, err := w.b.authorize(ctx, c, challenge)
	if err != nil {
		return err
	}
	if signedIn && az.loginShown {
		w.tally.lose("session", "an acknowledged sign-in was forgotten: the sign-in form was shown again")
	}
	if c.consent && az.consentSeen {
		w.tally.lose("consent", "client %s: an acknowledged approval was forgotten: consent was asked again", c.id)
	}
	if az.stage != "" {
		var p *pending
		if az.stage == "consent" {
			p = &pending{kind: "consent"}
		}
		return w.lost("authorize", az.last, c, p)
	}
	if az.consentSeen {
		w.tally.wrote("consent")
	}
	c.consent = true
	c.code, c.verifier, c.codeAt = az.code, verifier, time.Now()
	w.tally.wrote("code")
	return nil
}

// codeTTL is Gatehouse's authorization code lifetime; codes older than
// codeUsable are not checked (they may have expired by the check).
const codeUsable = 45 * time.Second

func (w *worker) exchange(ctx context.Context, c *chain) error {
	code, verifier, at := c.code, c.verifier, c.codeAt
	c.code = ""
	an := w.a.exchange(ctx, c, code, verifier)
	switch {
	case an.inFlight():
		return w.lost("exchange", an, c, &pending{kind: "exchange", code: code, verifier: verifier})
	case an.status == http.StatusOK:
		w.issued(c, an, code, verifier)
		w.tally.wrote("exchange")
		return nil
	case an.status == http.StatusBadRequest && an.str("error") == "invalid_grant" && time.Since(at) > codeUsable:
		return nil // expired while the server was down
	}
	return unexpected("exchange", an)
}

// issued records a token response.
func (w *worker) issued(c *chain, an answer, code, verifier string) {
	if c.refresh != "" && code == "" {
		c.rotated = push(c.rotated, c.refresh)
	}
	c.access, c.refresh, c.accessLive = an.str("access_token"), an.str("refresh_token"), true
	exp, _ := an.body["expires_in"].(float64)
	c.accessExp = time.Now().Add(time.Duration(exp) * time.Second)
	if code != "" {
		c.grantCode, c.grantVer = code, verifier
	}
}

func (w *worker) refreshOp(ctx context.Context, c *chain) error {
	an := w.a.refresh(ctx, c, c.refresh)
	switch {
	case an.inFlight():
		return w.lost("refresh", an, c, &pending{kind: "refresh", token: c.refresh})
	case an.status == http.StatusOK && an.str("refresh_token") != "":
		w.issued(c, an, "", "")
		w.tally.wrote("refresh")
		return nil
	}
	return unexpected("refresh", an)
}

func (w *worker) revokeAccess(ctx context.Context, c *chain) error {
	if !c.accessLive {
		return w.refreshOp(ctx, c)
	}
	an := w.a.revoke(ctx, c, c.access, "access_token")
	switch {
	case an.inFlight():
		return w.lost("revoke", an, c, &pending{kind: "revoke_access", token: c.access})
	case an.status == http.StatusOK:
		c.revoked, c.accessLive = push(c.revoked, c.access), false
		w.tally.wrote("revoke")
		return nil
	}
	return unexpected("revoke access token", an)
}

// grantEnded records that the current grant is gone with its tokens.
func (c *chain) grantEnded() {
	if c.refresh != "" {
		c.revoked = push(c.revoked, c.refresh)
	}
	if c.accessLive {
		c.revoked = push(c.revoked, c.access)
	}
	c.refresh, c.accessLive = "", false
}

func (w *worker) revokeRefresh(ctx context.Context, c *chain) error {
	an := w.a.revoke(ctx, c, c.refresh, "refresh_token")
	switch {
	case an.inFlight():
		return w.lost("revoke", an, c, &pending{kind: "revoke_refresh", token: c.refresh})
	case an.status == http.StatusOK:
		c.grantEnded()
		w.tally.wrote("revoke")
		return nil
	}
	return unexpected("revoke refresh token", an)
}

// replay redeems the grant's code a second time: refused, and the whole
// grant is revoked (OAuth 2.1 §4.1.3). The chain retires.
func (w *worker) replay(ctx context.Context, c *chain) error {
	if c.grantCode == "" {
		return w.refreshOp(ctx, c)
	}
	an := w.a.exchange(ctx, c, c.grantCode, c.grantVer)
	switch {
	case an.inFlight():
		return w.lost("replay", an, c, &pending{kind: "replay", token: c.refresh})
	case an.status == http.StatusBadRequest && an.str("error") == "invalid_grant":
		c.grantEnded()
		c.retired = true
		w.tally.wrote("code_replay")
		return nil
	}
	return unexpected("code replay", an)
}

func (w *worker) update(ctx context.Context, c *chain) error {
	next := registration{ClientName: randomName(c.name), RedirectURIs: []string{redirectURI},
		Contacts: []string{randomName("ops") + "@example.com"}, ClientURI: "https://" + randomName("app") + ".example.com"}
	an := w.a.updateRegistration(ctx, c, next)
	switch {
	case an.inFlight():
		return w.lost("update", an, c, &pending{kind: "update", reg: next})
	case an.status == http.StatusOK && next.matches(an.body):
		c.reg, c.consent = next, false // a changed client may be asked again
		w.tally.wrote("update")
		return nil
	}
	return unexpected("registration update", an)
}

func (w *worker) delete(ctx context.Context, c *chain) error {
	an := w.a.deleteRegistration(ctx, c)
	switch {
	case an.inFlight():
		return w.lost("delete", an, c, &pending{kind: "delete"})
	case an.status == http.StatusNoContent:
		c.deleted, c.retired = true, true
		c.grantEnded()
		w.tally.wrote("delete")
		return nil
	}
	return unexpected("registration delete", an)
}
