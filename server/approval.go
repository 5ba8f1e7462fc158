package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ApprovalNotifier is told about each client newly waiting for approval
// (approvals.webhook_url). Notify must not block.
type ApprovalNotifier interface {
	Notify(notify.Notice)
}

// approvalPage is the data of the page a pending or blocked client's user
// sees instead of a sign-in or consent.
type approvalPage struct {
	Heading, Message       string
	ClientName, ClientHost string
	SelfAsserted, Pending  bool
}

// checkApproval applies the approval queue at /authorize and /consent,
// after the client and its redirect URI are verified. A blocked client is
// refused whatever its profile. A client whose profile says approval:
// admin passes only when approved for its current metadata (approval
// fingerprint); otherwise it is recorded as pending and the user sees a
// page saying so, with nothing issued.
//
// refused reports that the page of a pending or blocked client has been
// written: the caller must stop there (return err, which is then nil),
// never go on to consent or to issue a code into a committed response.
//
// Recording needs a signed-in user (user != nil): anyone can publish a
// metadata document, and if an anonymous link could queue clients, a
// script could fill the administrator's queue. Before sign-in only what is
// already recorded is shown (blocked, or pending for this very metadata);
// everything else continues to the sign-in page and comes back here.
func (s *Server) checkApproval(c echo.Context, req *authzRequest, user *store.User) (refused bool, err error) {
	ctx := c.Request().Context()
	rec, found, err := s.clientApproval(ctx, req.Client.ID)
	if err != nil {
		return false, err
	}
	if found && rec.State == store.ApprovalBlocked {
		return true, s.refuseUnapproved(c, req, rec)
	}
	if !req.Profile.NeedsApproval() {
		return false, nil
	}
	fp := oauth.ApprovalFingerprint(req.Client.Metadata)
	switch {
	case found && rec.Fingerprint == fp && rec.State == store.ApprovalApproved:
		return false, nil
	case found && rec.Fingerprint == fp && rec.State == store.ApprovalPending:
		return true, s.refuseUnapproved(c, req, rec)
	case user == nil:
		return false, nil // recorded after sign-in
	}
	rec, queued, err := s.store.RequestClientApproval(ctx, store.ClientApproval{ClientID: req.Client.ID, Kind: string(req.Client.Kind),
		ClientName: req.Client.Metadata.ClientName, Profile: req.Profile.Name, Fingerprint: fp, RequestedAt: s.now()})
	if err != nil {
		return false, err
	}
	s.approvalRequested(ctx, req.Client.ID, queued)
	if queued {
		s.queued(c, rec, user.ID)
	}
	if rec.State == store.ApprovalApproved { // approved meanwhile, by another request or instance
		return false, nil
	}
	return true, s.refuseUnapproved(c, req, rec)
}

// queued records a client that has just entered the approval queue: an
// audit event, a metric and, when configured, a webhook notice.
func (s *Server) queued(c echo.Context, rec store.ClientApproval, userID string) {
	decision := "queued"
	if rec.Reason == store.ApprovalReasonChanged {
		decision = "requeued"
	}
	s.metrics.approvalDecision(decision)
	Audit(c.Request().Context(), requestLogger(c, s.log), AuditClientPending, "client_id", rec.ClientID, "kind", rec.Kind,
		"profile", rec.Profile, "reason", rec.Reason, "fingerprint", rec.Fingerprint, "approved_fingerprint", rec.ApprovedFingerprint,
		"user_id", userID)
	if s.notifier != nil {
		s.notifier.Notify(notify.Notice{Event: notify.EventClientPending, ClientID: rec.ClientID, Host: urlHost(rec.ClientID),
			Kind: rec.Kind, ClientName: rec.ClientName, Profile: rec.Profile, Reason: rec.Reason, Fingerprint: rec.Fingerprint,
			RequestedAt: rec.RequestedAt, Issuer: s.cfg.Issuer,
			ApproveCommand: "gatehouse admin clients approve " + rec.ClientID, BlockCommand: "gatehouse admin clients block " + rec.ClientID})
	}
}

// refuseUnapproved shows the page of a pending or blocked client (403,
// never a redirect: the client is not trusted to receive even an error)
// and records the refusal.
func (s *Server) refuseUnapproved(c echo.Context, req *authzRequest, rec store.ClientApproval) error {
	p := approvalPage{ClientName: req.Client.DisplayName(), SelfAsserted: req.Client.Kind != oauth.ClientStatic,
		ClientHost: urlHost(req.Client.ID)}
	switch {
	case rec.State == store.ApprovalBlocked:
		p.Heading = "This application is blocked"
		p.Message = "An administrator of this server has blocked this application. It cannot sign you in here."
	case rec.Reason == store.ApprovalReasonChanged:
		p.Heading, p.Pending = "This application waits for approval again", true
		p.Message = "This application changed where it sends its answers or how it proves who it is since an administrator " +
			"approved it, so it waits for an administrator to approve it again."
	default:
		p.Heading, p.Pending = "This application waits for approval", true
		p.Message = "This application is new to this server. An administrator has to approve it before anyone can use it here."
	}
	s.metrics.approvalDecision("refused_" + rec.State)
	Audit(c.Request().Context(), requestLogger(c, s.log), AuditClientRefused, "client_id", req.Client.ID, "state", rec.State,
		"profile", req.Profile.Name)
	noStore(c)
	return s.render(c, http.StatusForbidden, "approval", p.Heading, p)
}

// tokenApproval applies the approval queue at the token endpoint: a
// blocked client gets nothing; a client whose profile requires approval
// gets tokens only while approved for its current metadata (a code issued
// before its document changed is not redeemed). A client_credentials or
// jwt-bearer (ID-JAG) client never visits /authorize, so it is queued here.
func (s *Server) tokenApproval(c echo.Context, client *oauth.Client, prof *policy.Profile, grantType string) error {
	ctx := c.Request().Context()
	rec, found, err := s.clientApproval(ctx, client.ID)
	if err != nil {
		return err
	}
	refuse := func(state, why string) error {
		s.metrics.approvalDecision("refused_" + state)
		Audit(ctx, requestLogger(c, s.log), AuditClientRefused, "client_id", client.ID, "state", state, "profile", prof.Name,
			"grant_type", grantType)
		return oauth.UnauthorizedClient("%s", why)
	}
	if found && rec.State == store.ApprovalBlocked {
		return refuse(store.ApprovalBlocked, "an administrator of this server has blocked this client")
	}
	if !prof.NeedsApproval() {
		return nil
	}
	fp := oauth.ApprovalFingerprint(client.Metadata)
	if found && rec.State == store.ApprovalApproved && rec.Fingerprint == fp {
		return nil
	}
	// client_credentials and jwt-bearer clients never visit /authorize.
	if grantType == oauth.GrantClientCredentials || grantType == oauth.GrantJWTBearer {
		rec, queued, err := s.store.RequestClientApproval(ctx, store.ClientApproval{ClientID: client.ID, Kind: string(client.Kind),
			ClientName: client.Metadata.ClientName, Profile: prof.Name, Fingerprint: fp, RequestedAt: s.now()})
		if err != nil {
			return err
		}
		s.approvalRequested(ctx, client.ID, queued)
		if queued {
			s.queued(c, rec, "")
		}
		if rec.State == store.ApprovalApproved {
			return nil
		}
	}
	return refuse(store.ApprovalPending, "this client waits for an administrator's approval (gatehouse admin clients pending)")
}

// urlHost is the host of a URL client ID as the consent page shows it
// (punycode, never Unicode look-alikes), "" for other client IDs.
func urlHost(clientID string) string {
	if !strings.HasPrefix(clientID, "https://") {
		return ""
	}
	return policy.RedirectDestination(clientID).Host
}
