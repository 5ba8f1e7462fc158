package identity

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Config is one login.providers entry, already read from the operator's
// settings (the secret loaded from client_secret_file by the caller).
type Config struct {
	ID   string
	Name string
	Type string
	// ClientID and ClientSecret are Gatehouse's registration upstream.
	ClientID     string
	ClientSecret string
	// Scopes requested upstream (oidc default: openid email profile;
	// github default: read:user user:email, plus read:org when
	// organizations or teams are checked).
	Scopes []string
	// Issuer is the OIDC provider's issuer (discovery at
	// {issuer}/.well-known/openid-configuration).
	Issuer string
	// BaseURL is GitHub's web URL: https://github.com (default) or a
	// GitHub Enterprise Server such as https://ghe.example.com, whose API
	// is under /api/v3.
	BaseURL string
	// APIURL overrides the GitHub API base (default: https://api.github.com
	// for github.com, {base_url}/api/v3 otherwise).
	APIURL string
	// Claims maps OIDC claim names onto Identity fields.
	Claims ClaimMapping
	// Admission decides who may sign in.
	Admission Admission
}

// Validate reports every problem of the entry at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !ValidID(c.ID) {
		bad("id %q must be 1-32 lower-case letters, digits, - or _ (it appears in URLs)", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		bad("name is required (the label of the sign-in button)")
	}
	if c.ClientID == "" {
		bad("client_id is required")
	}
	if c.ClientSecret == "" {
		bad("client_secret or client_secret_file is required")
	}
	switch c.Type {
	case TypeOIDC:
		if err := checkHTTPSURL(c.Issuer); err != nil {
			bad("issuer: %v", err)
		}
		if len(c.Admission.AllowedOrganizations)+len(c.Admission.AllowedTeams) > 0 {
			bad("allowed_organizations and allowed_teams are for type github; use allowed_groups")
		}
	case TypeGitHub:
		if c.BaseURL != "" {
			if err := checkHTTPSURL(c.BaseURL); err != nil {
				bad("base_url: %v", err)
			}
		}
		if c.APIURL != "" {
			if err := checkHTTPSURL(c.APIURL); err != nil {
				bad("api_url: %v", err)
			}
		}
		if c.Issuer != "" {
			bad("issuer is for type oidc; GitHub Enterprise Server takes base_url")
		}
		for _, t := range c.Admission.AllowedTeams {
			if org, team, ok := strings.Cut(t, "/"); !ok || org == "" || team == "" {
				bad("allowed_teams: %q must be org/team-slug", t)
			}
		}
	default:
		bad("type %q must be oidc or github", c.Type)
	}
	return errors.Join(errs...)
}

// checkHTTPSURL accepts https URLs, and http only for a loopback host
// (development and tests).
func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute URL without query or fragment", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be https (http only on loopback)", raw)
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "127.")
}
