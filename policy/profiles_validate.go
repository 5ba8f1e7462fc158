package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ProfileProblem is one reason a client_profiles list is refused, keyed
// by its configuration key ("client_profiles[2].consent").
type ProfileProblem struct {
	Key string
	Msg string
}

func (p ProfileProblem) Error() string { return p.Key + ": " + p.Msg }

// MaxProfileNameLength bounds a profile name: it is a metric label and
// appears in the audit log.
const MaxProfileNameLength = 64

// NewProfiles validates list against the defaults and returns the profile
// set. It reports every problem at once (errors.Join of ProfileProblem),
// so `gatehouse config check` lists them all: invalid values, a consent
// skip for a profile that does not name its clients exactly, a redirect
// policy on a profile that covers no CIMD client, ceilings above the
// server's own lifetimes, and conflicts (a criterion an earlier profile
// already covers, a host or client_id that cimd.hosts.deny refuses), all
// of which would otherwise silently never apply.
func NewProfiles(list []Profile, d ProfileDefaults) (*Profiles, error) {
	var problems []error
	bad := func(i int, field, format string, args ...any) {
		problems = append(problems, ProfileProblem{Key: fmt.Sprintf("client_profiles[%d]%s", i, field), Msg: fmt.Sprintf(format, args...)})
	}
	ps := &Profiles{list: slices.Clone(list), defaults: d,
		def: Profile{Name: DefaultProfileName, Approval: ApprovalNone, Consent: ConsentRemember}}
	names := map[string]int{}
	for i := range ps.list {
		p := &ps.list[i]
		p.Match = p.Match.clone()
		validateProfile(i, p, d, bad)
		if j, dup := names[p.Name]; dup && p.Name != "" {
			bad(i, ".name", "%q is also the name of client_profiles[%d]", p.Name, j)
		}
		names[p.Name] = i
		if p.Approval == "" {
			p.Approval = ApprovalNone
		}
		if p.Consent == "" {
			p.Consent = ConsentRemember
		}
	}
	for _, c := range ps.conflicts() {
		problems = append(problems, c)
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return ps, nil
}

func (m ProfileMatch) clone() ProfileMatch {
	m.Hosts, m.ClientIDs, m.SoftwareIDs = slices.Clone(m.Hosts), slices.Clone(m.ClientIDs), slices.Clone(m.SoftwareIDs)
	return m
}

func validateProfile(i int, p *Profile, d ProfileDefaults, bad func(int, string, string, ...any)) {
	switch {
	case p.Name == "":
		bad(i, ".name", "is required (it names the profile in logs, metrics and `gatehouse clients list`)")
	case p.Name == DefaultProfileName:
		bad(i, ".name", "%q is the built-in profile of clients no profile matches; choose another name", p.Name)
	case !validProfileName(p.Name):
		bad(i, ".name", "%q must be 1 to %d characters of a-z, 0-9, '-' and '_'", p.Name, MaxProfileNameLength)
	}
	validateMatch(i, p.Match, bad)
	switch p.Approval {
	case "", ApprovalNone, ApprovalAdmin:
	default:
		bad(i, ".approval", "%q is not one of none, admin", p.Approval)
	}
	switch p.Consent {
	case "", ConsentRemember, ConsentAlways:
	case ConsentSkip:
		if !p.Match.exactOnly() || p.Match.empty() {
			bad(i, ".consent", "skip is allowed only for a profile that names its clients exactly (match.client_ids and "+
				"match.hosts without wildcards); %s would let clients nobody vetted one by one act without the user's consent", p.Match.broadest())
		}
	default:
		bad(i, ".consent", "%q is not one of remember, always, skip", p.Consent)
	}
	if p.RedirectPolicy != "" {
		if _, err := ParseRedirectMode(string(p.RedirectPolicy)); err != nil {
			bad(i, ".redirect_policy", "%s", err.(*RuleError).Detail)
		} else if !p.Match.coversURLClients() {
			bad(i, ".redirect_policy", "applies to CIMD clients only, and this profile matches none (use match.hosts, match.cimd or https client_ids)")
		}
	}
	validateCeilings(i, p.Ceilings, d, bad)
}

func validProfileName(s string) bool {
	if len(s) > MaxProfileNameLength {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validateMatch(i int, m ProfileMatch, bad func(int, string, string, ...any)) {
	if m.empty() {
		bad(i, ".match", "names no client: set hosts, client_ids, registered, software_ids or cimd")
	}
	for j, h := range m.Hosts {
		if err := ValidatePattern(h); err != nil {
			bad(i, fmt.Sprintf(".match.hosts[%d]", j), "%s", err.(*RuleError).Detail)
		} else if h != strings.ToLower(h) {
			bad(i, fmt.Sprintf(".match.hosts[%d]", j), "write %q in lowercase", h)
		}
	}
	for j, id := range m.ClientIDs {
		key := fmt.Sprintf(".match.client_ids[%d]", j)
		switch {
		case strings.HasPrefix(strings.ToLower(id), "https://"):
			if err := CheckClientIDURL(id); err != nil {
				bad(i, key, "%q is not a valid CIMD client_id: %v", id, err)
			}
		case id == "" || len(id) > 255 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			bad(i, key, "must be 1 to 255 characters without spaces or control characters")
		}
		if slices.Index(m.ClientIDs, id) < j {
			bad(i, key, "%q is listed twice", id)
		}
	}
	for j, s := range m.SoftwareIDs {
		if s == "" || len(s) > 255 || CheckDisplayText("software_id", s, 255) != nil {
			bad(i, fmt.Sprintf(".match.software_ids[%d]", j), "must be 1 to 255 characters of display text")
		}
	}
}

// coversURLClients reports whether the match can fit a CIMD client.
func (m ProfileMatch) coversURLClients() bool {
	return m.CIMD || len(m.Hosts) > 0 || slices.ContainsFunc(m.ClientIDs, func(id string) bool { return strings.HasPrefix(id, "https://") })
}

// broadest names the widest criterion of m, for error messages.
func (m ProfileMatch) broadest() string {
	switch {
	case m.CIMD:
		return "match.cimd (every URL client)"
	case m.Registered:
		return "match.registered (every registered client)"
	case len(m.SoftwareIDs) > 0:
		return "match.software_ids (every registration carrying a statement)"
	}
	for _, h := range m.Hosts {
		if isWildcard(h) {
			return fmt.Sprintf("the wildcard %q", h)
		}
	}
	return "an empty match"
}

func validateCeilings(i int, c Ceilings, d ProfileDefaults, bad func(int, string, string, ...any)) {
	for j, s := range c.Scopes {
		if !validScope(s) {
			bad(i, fmt.Sprintf(".scopes[%d]", j), "%q is not a valid scope token (RFC 6749 §3.3)", s)
		}
	}
	if c.Scopes != nil && len(c.Scopes) == 0 {
		bad(i, ".scopes", "an empty list would drop every scope; leave it out for no ceiling")
	}
	if c.Resources != nil && len(c.Resources) == 0 {
		bad(i, ".resources", "an empty list would refuse every resource; leave it out for no ceiling")
	}
	switch {
	case c.AccessTokenTTL < 0:
		bad(i, ".access_token_ttl", "must not be negative")
	case d.AccessTokenTTL > 0 && c.AccessTokenTTL > d.AccessTokenTTL:
		bad(i, ".access_token_ttl", "%s is above tokens.access_token_ttl (%s): a ceiling can only lower it", c.AccessTokenTTL, d.AccessTokenTTL)
	}
	switch {
	case c.RefreshTokenMaxTTL < 0:
		bad(i, ".refresh_token_max_ttl", "must not be negative")
	case d.RefreshTokenMaxTTL > 0 && c.RefreshTokenMaxTTL > d.RefreshTokenMaxTTL:
		bad(i, ".refresh_token_max_ttl", "%s is above tokens.refresh_token_max_ttl (%s): a ceiling can only lower it", c.RefreshTokenMaxTTL, d.RefreshTokenMaxTTL)
	case c.RefreshTokenMaxTTL > 0 && !c.RefreshAllowed():
		bad(i, ".refresh_token_max_ttl", "is set, but refresh_tokens is false: no grant of this profile can be refreshed")
	}
}

// validScope: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
