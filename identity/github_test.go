package identity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/identity/identitytest"
)

func githubSignIn(t *testing.T, gh *identitytest.GitHub, cfg identity.Config) (identity.Identity, error) {
	t.Helper()
	cfg.ID, cfg.Name, cfg.Type = "gh", "GitHub", identity.TypeGitHub
	cfg.ClientID, cfg.ClientSecret = gh.ClientID, gh.ClientSecret
	if cfg.BaseURL == "" {
		cfg.BaseURL = gh.Server.URL
	}
	p, err := identity.New(cfg, identity.Deps{HTTPClient: gh.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	req := identity.AuthRequest{State: rand.Text(), Verifier: rand.Text() + rand.Text(), RedirectURI: callback}
	u, err := p.AuthURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	code, state := gh.Authorize(t, u)
	if state != req.State {
		t.Fatalf("state = %q", state)
	}
	return p.Exchange(context.Background(), identity.Callback{Code: code, Verifier: req.Verifier, RedirectURI: callback})
}

func TestGitHubEnterpriseServer(t *testing.T) {
	gh := identitytest.NewGitHub(t, "/api/v3")
	id, err := githubSignIn(t, gh, identity.Config{Admission: identity.Admission{AllowedOrganizations: []string{"ACME"}}})
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "4242" || id.Username != "octocat" || id.Email != "octocat@example.com" || !id.EmailVerified || id.Name != "The Octocat" {
		t.Fatalf("identity = %+v", id)
	}
	if got := gh.Scopes[0]; !strings.Contains(got, "read:org") || !strings.Contains(got, "user:email") {
		t.Fatalf("scope = %q; org checks need read:org", got)
	}
}

func TestGitHubAPIURLLayout(t *testing.T) {
	gh := identitytest.NewGitHub(t, "")
	id, err := githubSignIn(t, gh, identity.Config{APIURL: gh.Server.URL})
	if err != nil || id.Subject != "4242" || id.Groups != nil {
		t.Fatalf("identity = %+v, %v (no org rule: no org lookups)", id, err)
	}
	if strings.Contains(gh.Scopes[0], "read:org") {
		t.Fatalf("scope %q asks read:org without an org rule", gh.Scopes[0])
	}
}

func TestGitHubAdmission(t *testing.T) {
	tests := []struct {
		name   string
		adm    identity.Admission
		orgs   []string
		teams  [][2]string
		refuse bool
	}{
		{"org member", identity.Admission{AllowedOrganizations: []string{"acme"}}, []string{"acme"}, nil, false},
		{"not an org member", identity.Admission{AllowedOrganizations: []string{"acme"}}, []string{"other"}, nil, true},
		{"team member", identity.Admission{AllowedTeams: []string{"acme/platform"}}, nil, [][2]string{{"acme", "platform"}}, false},
		{"other team of the org", identity.Admission{AllowedTeams: []string{"acme/platform"}}, []string{"acme"}, [][2]string{{"acme", "sales"}}, true},
		{"same slug in another org", identity.Admission{AllowedTeams: []string{"acme/platform"}}, nil, [][2]string{{"evil", "platform"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := identitytest.NewGitHub(t, "/api/v3")
			gh.Orgs, gh.Teams = tt.orgs, tt.teams
			_, err := githubSignIn(t, gh, identity.Config{Admission: tt.adm})
			var re *identity.RefusedError
			if refused := errors.As(err, &re); refused != tt.refuse || (!tt.refuse && err != nil) {
				t.Fatalf("err = %v, want refused=%v", err, tt.refuse)
			}
		})
	}
}

func TestGitHubUnverifiedPrimaryEmailIsNoEmail(t *testing.T) {
	gh := identitytest.NewGitHub(t, "/api/v3")
	gh.Emails = []map[string]any{{"email": "octocat@example.com", "primary": true, "verified": false}}
	id, err := githubSignIn(t, gh, identity.Config{})
	if err != nil || id.Email != "" {
		t.Fatalf("identity = %+v, %v; an unverified email is no identity", id, err)
	}
	_, err = githubSignIn(t, gh, identity.Config{Admission: identity.Admission{AllowedEmailDomains: []string{"example.com"}}})
	if !identity.IsRefused(err) {
		t.Fatalf("domain rule without a verified email: err = %v", err)
	}
}

func TestGitHubBadCodeIsUpstreamError(t *testing.T) {
	gh := identitytest.NewGitHub(t, "/api/v3")
	p, _ := identity.New(identity.Config{ID: "gh", Name: "GitHub", Type: identity.TypeGitHub, BaseURL: gh.Server.URL,
		ClientID: gh.ClientID, ClientSecret: gh.ClientSecret}, identity.Deps{HTTPClient: gh.Server.Client()})
	_, err := p.Exchange(context.Background(), identity.Callback{Code: "forged", Verifier: "v", RedirectURI: callback})
	var ue *identity.UpstreamError
	if !errors.As(err, &ue) || ue.Provider != "gh" {
		t.Fatalf("err = %v", err)
	}
}
