package server

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// How consent was settled for an issued code (the consent label of
// gatehouse_profile_authorizations_total).
const (
	consentAsked      = "asked"
	consentRemembered = "remembered"
	consentSkipped    = "skipped"
)

// consentRequired decides, under the client profile's consent mode,
// whether the user must see the consent page:
//
//   - always: on every authorization;
//   - remember (the default): as needsConsent says (no earlier consent,
//     more scopes or resources, changed metadata, prompt=consent);
//   - skip: never, unless the client itself asks with prompt=consent. The
//     approval is still recorded (once, and again when it would have been
//     asked), so the user finds it in /account and can withdraw it.
//
// When the page is not needed, settled says why (remembered or skipped).
// The page itself is the same for every profile: its anti-phishing
// signals (the client_id host first, the name as the client's own claim,
// the destination, the loopback warning) never depend on the profile.
func (s *Server) consentRequired(c echo.Context, user store.User, req *authzRequest) (ask bool, settled string, err error) {
	mode := req.Profile.ConsentMode()
	if mode == policy.ConsentAlways {
		return true, "", nil
	}
	need, err := s.needsConsent(c, user, req)
	if err != nil {
		return false, "", err
	}
	if mode == policy.ConsentSkip && !req.Prompt[oauth.PromptConsent] {
		if need {
			if err := s.recordConsent(c, user, req); err != nil {
				return false, "", err
			}
		}
		Audit(c.Request().Context(), requestLogger(c, s.log), AuditConsentSkipped, "client_id", req.Client.ID, "user_id", user.ID,
			"profile", req.Profile.Name, "scopes", strings.Join(req.Scopes, " "), "resources", strings.Join(req.Resources, " "))
		return false, consentSkipped, nil
	}
	if need {
		return true, "", nil
	}
	return false, consentRemembered, nil
}
