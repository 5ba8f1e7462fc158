package identity

import (
	"slices"
	"strings"
)

// Admission is the operator's rule for who may sign in through a
// provider. Empty lists admit everyone the upstream authenticates.
type Admission struct {
	// AllowedEmailDomains admits only verified emails in these domains
	// (exact domain match, case-insensitive; no subdomains).
	AllowedEmailDomains []string
	// AllowedGroups admits only members of one of these upstream groups.
	AllowedGroups []string
	// RequireVerifiedEmail refuses an identity whose email the upstream
	// does not mark verified (email_verified). An identity with no email
	// at all passes unless AllowedEmailDomains is set.
	RequireVerifiedEmail bool
	// AllowedOrganizations (GitHub) admits only members of one of these
	// organizations.
	AllowedOrganizations []string
	// AllowedTeams (GitHub) admits only members of one of these teams,
	// written org/team-slug.
	AllowedTeams []string
}

// Check applies the rules in a fixed order and returns the first refusal,
// or nil. Email and group names are compared case-insensitively (GitHub
// organization and team names are case-insensitive; email domains are).
func (a Admission) Check(provider string, id Identity) error {
	refuse := func(reason string) error { return &RefusedError{Provider: provider, Reason: reason} }
	if a.RequireVerifiedEmail && id.Email != "" && !id.EmailVerified {
		return refuse("the provider does not say the email address " + id.Email + " is verified")
	}
	if len(a.AllowedEmailDomains) > 0 {
		_, domain, ok := strings.Cut(id.Email, "@")
		switch {
		case id.Email == "" || !ok:
			return refuse("the provider sent no email address, and only some email domains may sign in")
		case !id.EmailVerified:
			return refuse("the email address " + id.Email + " is not verified")
		case !containsFold(a.AllowedEmailDomains, domain):
			return refuse("email addresses in " + domain + " may not sign in")
		}
	}
	if len(a.AllowedGroups) > 0 && !anyFold(a.AllowedGroups, id.Groups) {
		return refuse("you are not a member of a group allowed to sign in")
	}
	orgs, teams := len(a.AllowedOrganizations) > 0, len(a.AllowedTeams) > 0
	if orgs || teams {
		// Either list admits: an organization member, or a member of one
		// of the named teams.
		if !(orgs && anyFold(a.AllowedOrganizations, id.Groups)) && !(teams && anyFold(a.AllowedTeams, id.Groups)) {
			return refuse("you are not a member of an organization or team allowed to sign in")
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func anyFold(allowed, have []string) bool {
	for _, h := range have {
		if containsFold(allowed, h) {
			return true
		}
	}
	return false
}
