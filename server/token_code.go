package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// exchangeCode redeems an authorization code (OAuth 2.1 §4.1.3). Checks
// run in an order that never lets a failed request consume the code: the
// client is already authenticated; the code's bindings (client, redirect
// URI, PKCE) are checked on a read; only then does one atomic commit mark
// it redeemed and store the grant. The cost is one store commit (shared
// with concurrent exchanges) and one signature.
func (s *Server) exchangeCode(c echo.Context, client *oauth.Client, form url.Values) error {
	raw, verifier := form.Get("code"), form.Get("code_verifier")
	switch {
	case raw == "":
		return oauth.InvalidRequest("code is required")
	case verifier == "":
		return oauth.InvalidRequest("code_verifier is required: every client must use PKCE")
	case !validPKCEValue(verifier):
		return oauth.InvalidRequest("code_verifier must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~] (RFC 7636 §4.1)")
	}
	ctx := c.Request().Context()
	id, secret, ok := parseHandle(raw, codePrefix)
	if !ok {
		return oauth.InvalidGrant("the authorization code is invalid or expired")
	}
	// The code and its user in one read (the user's current record, for
	// the credential check and the resource claims below).
	code, stored, err := s.store.CodeUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !secretMatches(secret, code.SecretHash)) {
		return oauth.InvalidGrant("the authorization code is invalid or expired")
	}
	if err != nil {
		return err
	}
	if err := checkCodeBinding(code, client, form, verifier); err != nil {
		return err
	}
	// Past this point the request proves possession of the code and its
	// verifier, so a redeemed code means replay: revoke what it issued
	// (OAuth 2.1 §4.1.3, RFC 9700 §4.5).
	if code.Redeemed() {
		return s.codeReplayed(c, code)
	}
	now := s.now()
	if !now.Before(code.ExpiresAt) {
		return oauth.InvalidGrant("the authorization code has expired")
	}
	aud, err := narrowResources(form["resource"], code.Resources)
	if err != nil {
		return err
	}
	// The profile's ceilings as they are now: a reload since the code
	// was issued may have lowered them.
	prof := s.requestProfile(c, client)
	if err := s.tokenResourceCeiling(c, client, prof, aud); err != nil {
		return err
	}
	scopes, _, err := capScopes(prof, code.Scopes)
	if err != nil {
		return err
	}
	grantID, err := s.orderedID()
	if err != nil {
		return err
	}
	spec, err := s.newTokenSpec(code.UserID, client.ID, aud, scopes, code.AuthTime)
	if err != nil {
		return err
	}
	s.applyTokenCeilings(&spec, prof)
	entries := s.entriesFor(aud)
	if code.Credential != "" || needsUserClaims(entries) {
		if stored == nil {
			return oauth.InvalidGrant("the user of this authorization code no longer exists")
		}
		u := *stored
		// A code held in reserve must not outlive a password change (nor
		// mint a grant after --revoke-grants): it carries the credential
		// of the session that approved it (ASVS V3.3.3).
		if code.Credential != "" && code.Credential != store.CredentialDigest(u) {
			return oauth.InvalidGrant("the user's password changed after this authorization code was issued; authorize again")
		}
		if needsUserClaims(entries) {
			if spec.Extra, err = s.resourceClaims(ctx, u, entries); err != nil {
				return err
			}
		}
	}
	g := store.Grant{
		ID: grantID, ClientID: client.ID, UserID: code.UserID, Scopes: scopes, Resources: code.Resources,
		AuthTime: code.AuthTime, CreatedAt: now, ExpiresAt: now.Add(prof.Ceilings.GrantTTL(s.cfg.RefreshMaxTTL)), LastUsedAt: now,
		AccessTokens: []store.IssuedToken{spec.issued()},
	}
	var refresh string
	var rt store.RefreshToken
	if client.AllowsGrant(oauth.GrantRefreshToken) && s.refreshAllowed(prof) {
		if refresh, rt, err = s.newRefreshToken(now, g.ExpiresAt); err != nil {
			return err
		}
	}
	err = s.store.RedeemCode(ctx, id, now, g, rt)
	switch {
	case errors.Is(err, store.ErrAlreadyRedeemed):
		// Lost a race with another redemption of the same code.
		if code, err = s.store.Code(ctx, id); err != nil {
			return err
		}
		return s.codeReplayed(c, code)
	case errors.Is(err, store.ErrNotFound):
		return oauth.InvalidGrant("the authorization code has expired")
	case err != nil:
		return err
	}
	access, err := s.signAccessToken(spec)
	if err != nil {
		return err
	}
	resp := tokenResponse{AccessToken: access, RefreshToken: refresh}
	if wantsIDToken(code.Scopes) {
		if resp.IDToken, err = s.signIDToken(ctx, code, spec); err != nil {
			return err
		}
	}
	return s.writeTokens(c, resp, spec)
}

// checkCodeBinding enforces what the code is bound to: the client, the
// redirect URI and the PKCE challenge (OAuth 2.1 §4.1.3).
func checkCodeBinding(code store.AuthCode, client *oauth.Client, form url.Values, verifier string) error {
	if code.ClientID != client.ID {
		return oauth.InvalidGrant("the authorization code was issued to another client")
	}
	redirect, given := form.Get("redirect_uri"), form.Has("redirect_uri")
	if (given || code.RedirectURIGiven) && redirect != code.RedirectURI {
		return oauth.InvalidGrant("redirect_uri does not match the authorization request")
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(challenge), []byte(code.CodeChallenge)) != 1 {
		return oauth.InvalidGrant("code_verifier does not match the code_challenge (PKCE)")
	}
	return nil
}

// codeReplayed revokes the grant a replayed code issued.
func (s *Server) codeReplayed(c echo.Context, code store.AuthCode) error {
	log := requestLogger(c, s.log)
	if code.GrantID != "" {
		if err := s.store.RevokeGrant(c.Request().Context(), code.GrantID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	s.metrics.codeReplayed()
	Audit(c.Request().Context(), log, AuditCodeReplay, "client_id", code.ClientID, "grant_id", code.GrantID, "user_id", code.UserID)
	return oauth.InvalidGrant("the authorization code was already used; the tokens it issued have been revoked")
}

// narrowResources checks the token request's resource parameters against
// the grant (RFC 8707 §2.2): each must be one the user authorized, compared
// as URIs (oauth.SameResource), and the result names each in the grant's
// spelling, the one the operator configured. None means all of them.
func narrowResources(requested, granted []string) ([]string, error) {
	if len(requested) == 0 {
		return granted, nil
	}
	var out []string
	for _, r := range requested {
		i := slices.IndexFunc(granted, func(g string) bool { return oauth.SameResource(r, g) })
		if i < 0 {
			return nil, oauth.InvalidTarget("resource %q was not part of the authorization", truncate(r, 200))
		}
		if !slices.Contains(out, granted[i]) {
			out = append(out, granted[i])
		}
	}
	return out, nil
}

// validPKCEValue: code_verifier and code_challenge are 43-128 characters
// of the unreserved set (RFC 7636 §4.1, §4.2).
func validPKCEValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
