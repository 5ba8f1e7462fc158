package policy

import (
	"time"
)

// ApprovalMode says whether a client needs an administrator's approval
// before Gatehouse issues it anything (client_profiles[].approval).
type ApprovalMode string

const (
	// ApprovalNone (the default): no approval needed.
	ApprovalNone ApprovalMode = "none"
	// ApprovalAdmin: the client waits in the approval queue until an
	// administrator approves it; nothing is issued meanwhile.
	ApprovalAdmin ApprovalMode = "admin"
)

// ConsentMode says when the user is asked to approve a client
// (client_profiles[].consent).
type ConsentMode string

const (
	// ConsentRemember (the default): ask once, again when the request
	// wants more or the client's security-relevant metadata changed.
	ConsentRemember ConsentMode = "remember"
	// ConsentAlways: ask on every authorization.
	ConsentAlways ConsentMode = "always"
	// ConsentSkip: never ask. Only for profiles whose every match
	// criterion names clients exactly (client_ids, exact hosts): the
	// operator vouches for each one by name.
	ConsentSkip ConsentMode = "skip"
)

// DefaultProfileName names the built-in profile that applies to a client
// no configured profile matches. No configured profile may use it.
const DefaultProfileName = "default"

// Profile is one entry of client_profiles: which clients it covers (Match)
// and how much Gatehouse trusts them. The zero values of the optional
// fields mean "as the default profile": no approval, remembered consent,
// cimd.redirect_policy, and no ceiling.
type Profile struct {
	Name     string
	Match    ProfileMatch
	Approval ApprovalMode
	Consent  ConsentMode
	// RedirectPolicy judges the https redirect URIs of this profile's
	// CIMD clients; "" inherits cimd.redirect_policy.
	RedirectPolicy RedirectMode
	Ceilings       Ceilings
}

// ProfileMatch says which clients a profile covers. A client matches when
// any one criterion fits it.
type ProfileMatch struct {
	// Hosts are CIMD client_id host patterns, as in cimd.hosts ("claude.ai",
	// "*.example.com": every subdomain, not the apex).
	Hosts []string
	// ClientIDs are exact client IDs: CIMD URLs, static or registered IDs.
	ClientIDs []string
	// Registered matches every dynamically registered (DCR) client.
	Registered bool
	// SoftwareIDs match registered clients whose software_id came from a
	// software statement Gatehouse verified (never a self-asserted one).
	SoftwareIDs []string
	// CIMD matches every URL client ID (Gatehouse's addition: "unknown CIMD
	// hosts", the last profile of a list).
	CIMD bool
}

// empty reports a match with no criterion.
func (m ProfileMatch) empty() bool {
	return len(m.Hosts) == 0 && len(m.ClientIDs) == 0 && !m.Registered && len(m.SoftwareIDs) == 0 && !m.CIMD
}

// exactOnly reports whether every criterion names clients one by one:
// client_ids and hosts without wildcards. Only such profiles may skip
// consent.
func (m ProfileMatch) exactOnly() bool {
	if m.Registered || m.CIMD || len(m.SoftwareIDs) > 0 {
		return false
	}
	for _, h := range m.Hosts {
		if isWildcard(h) {
			return false
		}
	}
	return true
}

func isWildcard(pattern string) bool { return len(pattern) >= 2 && pattern[:2] == "*." }

// Ceilings bound what a profile's clients get; every field's zero value
// means "no ceiling beyond the server's own settings".
type Ceilings struct {
	// Scopes: requested scopes outside this list are dropped (the token
	// carries the rest); nil: no ceiling.
	Scopes []string
	// Resources: resource indicators outside this list are refused with
	// invalid_target; nil: no ceiling. Compared by the server as resource
	// URIs; an entry ending in "/" covers everything under it.
	Resources []string
	// AccessTokenTTL caps access token lifetimes (at most
	// tokens.access_token_ttl); 0: the server's.
	AccessTokenTTL time.Duration
	// RefreshTokens: false withholds refresh tokens and refuses the
	// refresh_token grant; nil: allowed.
	RefreshTokens *bool
	// RefreshTokenMaxTTL caps a grant's absolute lifetime (at most
	// tokens.refresh_token_max_ttl); 0: the server's.
	RefreshTokenMaxTTL time.Duration
	// AllowClientCredentials overrides dcr/cimd.allow_client_credentials
	// for the profile's clients (and may close the grant to static ones);
	// nil: the kind's default.
	AllowClientCredentials *bool
}

// ProfileDefaults are the settings that make up the built-in default
// profile and the server-wide bounds the ceilings must stay within.
type ProfileDefaults struct {
	// RedirectPolicy is cimd.redirect_policy.
	RedirectPolicy RedirectMode
	// Hosts is cimd.hosts: deny refuses every matching client whatever
	// its profile; allow admits clients of the default profile.
	Hosts HostPolicy
	// ClientCredentialsDCR and ClientCredentialsCIMD are
	// dcr.allow_client_credentials and cimd.allow_client_credentials.
	ClientCredentialsDCR, ClientCredentialsCIMD bool
	// AccessTokenTTL and RefreshTokenMaxTTL are tokens.access_token_ttl
	// and tokens.refresh_token_max_ttl: ceilings may only lower them.
	AccessTokenTTL, RefreshTokenMaxTTL time.Duration
}

// ProfileClient is what matching looks at: the client_id and what kind of
// client it is. Build it from a resolved client; never from request input
// alone.
type ProfileClient struct {
	ID string
	// URL: the client_id is an https URL (a CIMD client).
	URL bool
	// Registered: a dynamically registered (DCR) client.
	Registered bool
	// SoftwareID is the software_id of a registered client as asserted by
	// a verified software statement; "" when none was verified.
	SoftwareID string
}

// Profiles is a validated, immutable client_profiles list with its
// built-in default. A reload builds a new one; requests read one value.
type Profiles struct {
	list     []Profile
	def      Profile
	defaults ProfileDefaults
}

// Default returns the built-in profile.
func (ps *Profiles) Default() *Profile { return &ps.def }

// List returns the configured profiles in order (not the default).
func (ps *Profiles) List() []Profile { return ps.list }

// Defaults returns the settings the default profile was built from.
func (ps *Profiles) Defaults() ProfileDefaults { return ps.defaults }

// IsDefault reports whether p is the built-in profile.
func (p *Profile) IsDefault() bool { return p.Name == DefaultProfileName }
