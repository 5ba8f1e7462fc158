package policy

import (
	"fmt"
	"slices"
	"strings"
)

// conflicts finds criteria that can never take effect, which an operator
// would otherwise only discover when a client is treated unexpectedly:
//
//   - a criterion every client of which an earlier profile already
//     matches (the first match wins, so this profile never sees them);
//   - a host or CIMD client_id that cimd.hosts.deny refuses (deny wins
//     over every profile).
//
// Invalid values are skipped: they are reported on their own.
func (ps *Profiles) conflicts() []error {
	var out []error
	for i := range ps.list {
		p := &ps.list[i]
		report := func(field, format string, args ...any) {
			out = append(out, ProfileProblem{Key: fmt.Sprintf("client_profiles[%d]%s", i, field), Msg: fmt.Sprintf(format, args...)})
		}
		earlier := func(covered func(m ProfileMatch) bool) (string, bool) {
			for k := range i {
				if covered(ps.list[k].Match) {
					return fmt.Sprintf("client_profiles[%d] (%s)", k, ps.list[k].Name), true
				}
			}
			return "", false
		}
		const never = "%s already matches every client this criterion matches, and the first matching profile wins: it never applies"
		for j, h := range p.Match.Hosts {
			if ValidatePattern(h) != nil {
				continue
			}
			field := fmt.Sprintf(".match.hosts[%d]", j)
			if d, ok := deniedPattern(ps.defaults.Hosts.Deny, h); ok {
				report(field, "%q is refused by cimd.hosts.deny pattern %q, which wins over every profile", h, d)
			} else if who, ok := earlier(func(m ProfileMatch) bool {
				return m.CIMD || slices.ContainsFunc(m.Hosts, func(a string) bool { return patternCovers(a, h) })
			}); ok {
				report(field, never, who)
			}
		}
		for j, id := range p.Match.ClientIDs {
			field := fmt.Sprintf(".match.client_ids[%d]", j)
			c := ProfileClient{ID: id, URL: strings.HasPrefix(id, "https://"), Registered: strings.HasPrefix(id, "dcr_")}
			if c.URL {
				if CheckClientIDURL(id) != nil {
					continue
				}
				if d, ok := deniedPattern(ps.defaults.Hosts.Deny, ClientIDHost(id)); ok {
					report(field, "the host of %q is refused by cimd.hosts.deny pattern %q, which wins over every profile", id, d)
					continue
				}
			}
			// A registered client's software_id is unknown here: only a
			// criterion that matches it whatever its statement counts.
			if who, ok := earlier(func(m ProfileMatch) bool { return m.fits(c) }); ok {
				report(field, never, who)
			}
		}
		if p.Match.Registered {
			if who, ok := earlier(func(m ProfileMatch) bool { return m.Registered }); ok {
				report(".match.registered", never, who)
			}
		}
		for j, sw := range p.Match.SoftwareIDs {
			if who, ok := earlier(func(m ProfileMatch) bool { return m.Registered || slices.Contains(m.SoftwareIDs, sw) }); ok {
				report(fmt.Sprintf(".match.software_ids[%d]", j), never, who)
			}
		}
		if p.Match.CIMD {
			if who, ok := earlier(func(m ProfileMatch) bool { return m.CIMD }); ok {
				report(".match.cimd", never, who)
			}
		}
	}
	return out
}

// patternCovers reports whether every host matched by pattern b is also
// matched by pattern a (both valid cimd.hosts patterns).
func patternCovers(a, b string) bool {
	baseA, wildA := strings.CutPrefix(strings.ToLower(a), "*.")
	baseB, wildB := strings.CutPrefix(strings.ToLower(b), "*.")
	switch {
	case !wildA:
		return !wildB && baseA == baseB
	case !wildB:
		return MatchHostPattern(a, baseB)
	}
	return baseB == baseA || strings.HasSuffix(baseB, "."+baseA)
}

// deniedPattern returns the deny pattern covering every host pattern (or
// host) h matches.
func deniedPattern(deny []string, h string) (string, bool) {
	for _, d := range deny {
		if patternCovers(d, h) {
			return d, true
		}
	}
	return "", false
}
