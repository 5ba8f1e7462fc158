package server

import (
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// clientCredentials issues a token to a confidential client acting on its
// own behalf (OAuth 2.1 §4.2). The subject is the client_id; no refresh
// token is issued and nothing is stored, so this path costs one signature.
func (s *Server) clientCredentials(c echo.Context, client *oauth.Client, form url.Values) error {
	if client.IsPublic() {
		return oauth.UnauthorizedClient("client_credentials requires a confidential client")
	}
	// Checked here, at issuance, rather than only at registration: it
	// covers clients registered before the operator turned the grant off
	// and CIMD documents that list it.
	pol := s.policy() // one snapshot: a reload may swap it meanwhile
	prof := s.requestProfile(c, client)
	if !prof.AllowsClientCredentials(profileClient(client), pol.profiles.Defaults()) {
		s.metrics.ceilingApplied(prof.Name, "client_credentials")
		Audit(c.Request().Context(), requestLogger(c, s.log), AuditCeilingRefused, "client_id", client.ID, "profile", prof.Name, "ceiling", "client_credentials")
		if prof.Ceilings.AllowClientCredentials != nil || client.Kind == oauth.ClientStatic {
			return oauth.UnauthorizedClient("client_credentials is not open to this client (client profile %s)", prof.Name)
		}
		// The kinds that get here, dcr and cimd, name their config section.
		return oauth.UnauthorizedClient("client_credentials is not open to %s clients on this server (%s.allow_client_credentials is off)", client.Kind, client.Kind)
	}
	aud, entries, err := pol.resources.resolve(form["resource"])
	if err != nil {
		return err
	}
	if err := s.tokenResourceCeiling(c, client, prof, aud); err != nil {
		return err
	}
	granted, _, err := grantScopes(oauth.SplitScope(form.Get("scope")), entries, client)
	if err != nil {
		return err
	}
	scopes, _, err := capScopes(prof, granted)
	if err != nil {
		return err
	}
	spec, err := s.newTokenSpec(client.ID, client.ID, aud, scopes, time.Time{})
	if err != nil {
		return err
	}
	s.applyTokenCeilings(&spec, prof)
	access, err := s.signAccessToken(spec)
	if err != nil {
		return err
	}
	return s.writeTokenResponse(c, access, spec, "")
}
