package policy

import (
	"slices"
	"strings"
	"testing"
)

// FuzzProfileMatch builds profile lists from hostile host patterns and
// client IDs and checks the invariants a wrong match would break:
//
//   - a consent: skip profile applies only to a client it names exactly
//     (its exact client_id, or its host equal to one of the profile's
//     exact hosts), whatever the spelling of either;
//   - a client the deny list covers is never admitted, whatever profile
//     names it;
//   - For returns a profile whose match fits the client (or the default
//     when none does), and no earlier profile fits.
func FuzzProfileMatch(f *testing.F) {
	f.Add("claude.ai", "*.example.com", "https://claude.ai/c.json", "evil.example", false)
	f.Add("CLAUDE.ai", "*.ai", "https://claude.ai:443/c", "*.claude.ai", true)
	f.Add("xn--80ak6aa92e.com", "*.com", "https://xn--80ak6aa92e.com/c", "", false)
	f.Add("127.0.0.1", "*.0.1", "https://127.0.0.1:8443/c", "127.0.0.1", true)
	f.Add("a.b", "*.b", "https://a.b.@x/c", "", false)
	f.Add("[::1]", "*.", "https://[::1]/c", "::1", false)
	f.Fuzz(func(t *testing.T, exactHost, wildcard, clientID, deny string, registered bool) {
		d := ProfileDefaults{RedirectPolicy: RedirectSameSite, Hosts: HostPolicy{Deny: []string{deny}}}
		if ValidatePattern(deny) != nil {
			d.Hosts.Deny = nil
		}
		list := []Profile{
			{Name: "skip", Match: ProfileMatch{Hosts: []string{exactHost}, ClientIDs: []string{"fixed-id"}}, Consent: ConsentSkip},
			{Name: "wild", Match: ProfileMatch{Hosts: []string{wildcard}}, Approval: ApprovalAdmin},
			{Name: "reg", Match: ProfileMatch{Registered: true}},
			{Name: "rest", Match: ProfileMatch{CIMD: true}},
		}
		ps, err := NewProfiles(list, d)
		if err != nil {
			if strings.Contains(err.Error(), "client_profiles[0].consent") && !isWildcard(exactHost) {
				t.Fatalf("skip refused for exact host %q: %v", exactHost, err)
			}
			return
		}
		c := ProfileClient{ID: clientID, URL: strings.HasPrefix(clientID, "https://"), Registered: registered}
		p := ps.For(c)
		if p == nil {
			t.Fatal("For returned nil")
		}
		if p.ConsentMode() == ConsentSkip {
			host := ClientIDHost(clientID)
			named := clientID == "fixed-id" || c.URL && slices.ContainsFunc(p.Match.Hosts, func(h string) bool {
				return !isWildcard(h) && strings.EqualFold(h, host)
			})
			if !named {
				t.Fatalf("consent skip applied to %q (host %q), which profile %+v does not name exactly", clientID, host, p.Match)
			}
		}
		if p.IsDefault() {
			for i := range ps.list {
				if ps.list[i].Match.fits(c) {
					t.Fatalf("default returned but %s fits %q", ps.list[i].Name, clientID)
				}
			}
		} else {
			if !p.Match.fits(c) || p.MatchReason(c) == "" {
				t.Fatalf("profile %s returned for %q but does not fit", p.Name, clientID)
			}
			for i := range ps.list {
				if &ps.list[i] == p {
					break
				}
				if ps.list[i].Match.fits(c) {
					t.Fatalf("%s returned but the earlier %s fits %q", p.Name, ps.list[i].Name, clientID)
				}
			}
		}
		if c.URL && len(d.Hosts.Deny) > 0 && MatchHostPattern(deny, ClientIDHost(clientID)) {
			if AdmitURL(d.Hosts, ps, clientID) == nil {
				t.Fatalf("%q admitted although cimd.hosts.deny %q covers it", clientID, deny)
			}
		}
	})
}
