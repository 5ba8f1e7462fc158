package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// For returns the profile that applies to c: the first configured profile
// whose match fits (a client matches a profile when any one criterion
// fits), else the built-in default. A nil *Profiles is the default alone.
// It never returns nil and does not allocate.
func (ps *Profiles) For(c ProfileClient) *Profile {
	if ps == nil {
		return &builtinDefault
	}
	for i := range ps.list {
		if ps.list[i].Match.fits(c) {
			return &ps.list[i]
		}
	}
	return &ps.def
}

// ForURL is For for a CIMD client_id: everything a URL client's profile
// depends on is in the URL, so it is known before any fetch.
func (ps *Profiles) ForURL(clientID string) *Profile {
	return ps.For(ProfileClient{ID: clientID, URL: true})
}

// builtinDefault is the default profile of a nil *Profiles.
var builtinDefault = Profile{Name: DefaultProfileName, Approval: ApprovalNone, Consent: ConsentRemember}

func (m ProfileMatch) fits(c ProfileClient) bool {
	return m.reason(c) != ""
}

// reason says which criterion of m fits c, "" when none does.
func (m ProfileMatch) reason(c ProfileClient) string {
	if c.URL {
		if host := ClientIDHost(c.ID); host != "" {
			for _, h := range m.Hosts {
				if MatchHostPattern(h, host) {
					return fmt.Sprintf("match.hosts %q", h)
				}
			}
		}
	}
	if slices.Contains(m.ClientIDs, c.ID) {
		return "match.client_ids"
	}
	if c.Registered {
		if c.SoftwareID != "" && slices.Contains(m.SoftwareIDs, c.SoftwareID) {
			return fmt.Sprintf("match.software_ids %q (from a verified software statement)", c.SoftwareID)
		}
		if m.Registered {
			return "match.registered"
		}
	}
	if c.URL && m.CIMD {
		return "match.cimd"
	}
	return ""
}

// MatchReason says why p applies to c: the criterion that fits, or, for
// the default profile, that none of the configured profiles does.
func (p *Profile) MatchReason(c ProfileClient) string {
	if p.IsDefault() {
		return "no configured profile matches"
	}
	return p.Match.reason(c)
}

// names reports whether the profile names the URL client by its host or
// its exact client_id (as opposed to covering every URL client).
func (m ProfileMatch) names(clientID string) bool {
	if slices.Contains(m.ClientIDs, clientID) {
		return true
	}
	host := ClientIDHost(clientID)
	return host != "" && slices.ContainsFunc(m.Hosts, func(h string) bool { return MatchHostPattern(h, host) })
}

// AdmitURL decides whether a CIMD client_id may be used at all, before any
// I/O (CIMD -02 §8.9): hosts.Deny refuses it whatever its profile; a
// client whose profile names it (a host pattern or its exact client_id)
// is admitted by that profile; any other (the default profile, or a
// profile matching every URL client) must pass hosts.Allow when that list
// is set. The error is a *RuleError as HostPolicy.Check returns.
func AdmitURL(hosts HostPolicy, ps *Profiles, clientID string) error {
	host := ClientIDHost(clientID)
	if err := (HostPolicy{Deny: hosts.Deny}).Check(host); err != nil {
		return err
	}
	if ps != nil && ps.ForURL(clientID).Match.names(clientID) {
		return nil
	}
	return hosts.Check(host)
}

// RedirectFor is the redirect policy that judges the https redirect URIs
// of the CIMD client clientID: its profile's, or fallback
// (cimd.redirect_policy) when the profile sets none.
func (ps *Profiles) RedirectFor(clientID string, fallback RedirectMode) RedirectMode {
	return ps.ForURL(clientID).Redirect(fallback)
}

// Redirect is the profile's redirect policy, or fallback when unset.
func (p *Profile) Redirect(fallback RedirectMode) RedirectMode {
	if p.RedirectPolicy == "" {
		return fallback
	}
	return p.RedirectPolicy
}

// ConsentMode is the profile's consent mode (remember when unset).
func (p *Profile) ConsentMode() ConsentMode {
	if p.Consent == "" {
		return ConsentRemember
	}
	return p.Consent
}

// NeedsApproval reports whether the profile's clients wait for an
// administrator.
func (p *Profile) NeedsApproval() bool { return p.Approval == ApprovalAdmin }

// AllowsClientCredentials reports whether c may use the client_credentials
// grant under p: the profile's allow_client_credentials when set, else the
// kind's default (static clients: yes; registered and CIMD clients:
// dcr/cimd.allow_client_credentials from d).
func (p *Profile) AllowsClientCredentials(c ProfileClient, d ProfileDefaults) bool {
	if p.Ceilings.AllowClientCredentials != nil {
		return *p.Ceilings.AllowClientCredentials
	}
	switch {
	case c.URL:
		return d.ClientCredentialsCIMD
	case c.Registered:
		return d.ClientCredentialsDCR
	}
	return true
}

// CapScopes applies the scope ceiling: kept are the requested scopes it
// allows, in request order; dropped the others. Without a ceiling every
// scope is kept.
func (c Ceilings) CapScopes(requested []string) (kept, dropped []string) {
	if c.Scopes == nil {
		return requested, nil
	}
	for _, s := range requested {
		if slices.Contains(c.Scopes, s) {
			kept = append(kept, s)
		} else {
			dropped = append(dropped, s)
		}
	}
	return kept, dropped
}

// AccessTTL is the access token lifetime under the ceiling: the smaller
// of server (tokens.access_token_ttl) and the ceiling.
func (c Ceilings) AccessTTL(server time.Duration) time.Duration {
	return lower(server, c.AccessTokenTTL)
}

// GrantTTL is a grant's absolute lifetime under the ceiling: the smaller
// of server (tokens.refresh_token_max_ttl) and the ceiling.
func (c Ceilings) GrantTTL(server time.Duration) time.Duration {
	return lower(server, c.RefreshTokenMaxTTL)
}

// RefreshAllowed reports whether refresh tokens may be issued and used.
func (c Ceilings) RefreshAllowed() bool { return c.RefreshTokens == nil || *c.RefreshTokens }

func lower(server, ceiling time.Duration) time.Duration {
	if ceiling > 0 && ceiling < server {
		return ceiling
	}
	return server
}

// NamesURL reports whether p names the URL client clientID by its host or
// its exact client_id (which admits it beyond cimd.hosts.allow).
func (p *Profile) NamesURL(clientID string) bool {
	return !p.IsDefault() && p.Match.names(clientID)
}

// RedirectKey identifies which CIMD client gets which redirect policy:
// equal keys mean every client_id is judged as before. A cache of
// documents validated under one key must be revalidated under another.
// Only the profiles up to the last one that sets a redirect_policy count:
// the others send every client to the fallback, as no profile does.
func (ps *Profiles) RedirectKey() string {
	if ps == nil {
		return ""
	}
	last := -1
	for i, p := range ps.list {
		if p.RedirectPolicy != "" {
			last = i
		}
	}
	var b strings.Builder
	for _, p := range ps.list[:last+1] {
		if p.Match.coversURLClients() {
			fmt.Fprintf(&b, "%q %q %q %v|", p.Match.Hosts, p.Match.ClientIDs, p.RedirectPolicy, p.Match.CIMD)
		}
	}
	return b.String()
}
