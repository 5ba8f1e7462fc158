package cimd

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

func testProfiles(t testing.TB, hosts policy.HostPolicy, list ...policy.Profile) *policy.Profiles {
	t.Helper()
	ps, err := policy.NewProfiles(list, policy.ProfileDefaults{RedirectPolicy: policy.RedirectSameSite, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestRedirectPolicyPerProfile: a cross-site redirect accepted for one
// host's profile (redirect_policy: any) is still refused for another host
// under the default same-site policy, and the report says which profile
// judged it.
func TestRedirectPolicyPerProfile(t *testing.T) {
	trusted, other := "https://client.example/c.json", "https://other.example/c.json"
	e := newEnv(t, func(c *Config) {
		c.Profiles = testProfiles(t, c.Hosts, policy.Profile{Name: "known", Match: policy.ProfileMatch{Hosts: []string{"client.example"}}, RedirectPolicy: policy.RedirectAny})
	})
	const crossSite = "https://redirect-target.example/cb"
	e.host.serveJSON(trusted, doc(trusted, crossSite))
	e.host.serveJSON(other, doc(other, crossSite, "http://localhost/callback"))
	if c, err := e.r.ResolveForRedirect(bg, trusted, crossSite); err != nil || !slices.Contains(c.Metadata.RedirectURIs, crossSite) {
		t.Fatalf("the known host's cross-site redirect: %v, %v", c, err)
	}
	_, err := e.r.ResolveForRedirect(bg, other, crossSite)
	if oauth.Code(err) != oauth.ErrCodeInvalidRequest || !strings.Contains(err.Error(), "same-site") {
		t.Fatalf("another host's cross-site redirect: %v; want refused under same-site", err)
	}
	rep := e.r.Check(bg, trusted, crossSite)
	if !rep.Accepted() || rep.RedirectPolicy != policy.RedirectAny || rep.Profile.Name != "known" {
		t.Fatalf("check of the known host: accepted %v, policy %s, profile %s", rep.Accepted(), rep.RedirectPolicy, rep.Profile.Name)
	}
	golden(t, "profile-redirect-any.txt", rep)
	if rep := e.r.Check(bg, other, crossSite); rep.Accepted() || rep.Profile.Name != policy.DefaultProfileName {
		t.Fatalf("check of the other host accepted the cross-site redirect (profile %s)", rep.Profile.Name)
	}
}

// TestProfilesAdmitNamedHosts: with an allow list, a host a profile names
// is admitted, any other is not, and deny wins over every profile.
func TestProfilesAdmitNamedHosts(t *testing.T) {
	hosts := policy.HostPolicy{Allow: []string{"other.example"}, Deny: []string{"app.example.com"}}
	e := newEnv(t, func(c *Config) {
		c.Hosts = hosts
		c.Profiles = testProfiles(t, hosts,
			policy.Profile{Name: "named", Match: policy.ProfileMatch{Hosts: []string{"client.example"}}},
			policy.Profile{Name: "rest", Match: policy.ProfileMatch{CIMD: true}, Approval: policy.ApprovalAdmin})
	})
	for id, admitted := range map[string]bool{
		"https://client.example/c.json":  true,  // named by a profile
		"https://other.example/c.json":   true,  // on the allow list (profile rest)
		"https://zed.dev/c.json":         false, // only match.cimd: the allow list applies
		"https://app.example.com/c.json": false, // denied
	} {
		e.host.serveJSON(id, doc(id))
		_, err := e.r.Resolve(bg, id)
		if (err == nil) != admitted {
			t.Errorf("Resolve(%s) = %v, want admitted %v", id, err, admitted)
		}
	}
	rep := e.r.Check(bg, "https://other.example/c.json", "")
	if !strings.Contains(reportText(t, rep), "It then waits in the approval queue (client profile rest)") {
		t.Errorf("the report does not say the client waits for approval:\n%s", reportText(t, rep))
	}
}

// TestReconfigureProfilesRevalidates: a reload that changes which
// redirect policy a client gets revalidates its cached document; one that
// leaves redirects alone keeps the cache.
func TestReconfigureProfilesRevalidates(t *testing.T) {
	const id, crossSite = "https://client.example/c.json", "https://redirect-target.example/cb"
	e := newEnv(t)
	e.host.serveJSON(id, doc(id, crossSite, "http://localhost/callback"), "Cache-Control", "max-age=3600")
	c, err := e.r.Resolve(bg, id)
	if err != nil || slices.Contains(c.Metadata.RedirectURIs, crossSite) {
		t.Fatalf("default policy kept %v (%v)", c.Metadata.RedirectURIs, err)
	}
	cfg := e.r.Config()
	cfg.Profiles = testProfiles(t, cfg.Hosts, policy.Profile{Name: "approve", Match: policy.ProfileMatch{CIMD: true}, Approval: policy.ApprovalAdmin})
	if _, err := e.r.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	hits := e.host.hits(id)
	if _, err := e.r.Resolve(bg, id); err != nil || e.host.hits(id) != hits {
		t.Fatalf("a reload that changes no redirect policy refetched (%d) or failed: %v", e.host.hits(id)-hits, err)
	}
	cfg.Profiles = testProfiles(t, cfg.Hosts, policy.Profile{Name: "any", Match: policy.ProfileMatch{Hosts: []string{"client.example"}}, RedirectPolicy: policy.RedirectAny})
	if _, err := e.r.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	c, err = e.r.Resolve(bg, id)
	if err != nil || !slices.Contains(c.Metadata.RedirectURIs, crossSite) || e.host.hits(id) != hits+1 {
		t.Fatalf("after the profile's redirect_policy any: %v %v (fetches %d)", c.Metadata.RedirectURIs, err, e.host.hits(id)-hits)
	}
}

func reportText(t *testing.T, rep *Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
