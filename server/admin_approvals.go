package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ApprovalView is a client's approval record as operators see it: the
// record, with the client_id host first for URL clients.
type ApprovalView struct {
	Host string `json:"host,omitempty"`
	store.ClientApproval
	// GrantsRevoked, after a block, is how many grants it revoked.
	GrantsRevoked int `json:"grants_revoked,omitempty"`
}

// ListApprovals returns the approval records in state ("" for all),
// oldest request first.
func ListApprovals(ctx context.Context, st store.ApprovalStore, state string) ([]ApprovalView, error) {
	recs, err := st.ClientApprovals(ctx)
	if err != nil {
		return nil, err
	}
	out := []ApprovalView{}
	for _, r := range recs {
		if state == "" || r.State == state {
			out = append(out, ApprovalView{Host: urlHost(r.ClientID), ClientApproval: r})
		}
	}
	return out, nil
}

// addApproval puts a client's approval record, when it has one, under
// "approval" in a client description.
func addApproval(ctx context.Context, st store.ApprovalStore, id string, out map[string]any) error {
	rec, err := st.ClientApproval(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	out["approval"] = rec
	return nil
}

// AddApproval is addApproval for the offline CLI.
func AddApproval(ctx context.Context, st store.ApprovalStore, id string, out map[string]any) error {
	return addApproval(ctx, st, id, out)
}

// DecideClient records an administrator's decision, through the admin
// API or the offline CLI alike, with its audit event (by names who
// decided: "admin" or "cli"). A block revokes the client's grants and
// their tokens in the same commit. Errors are the store's: ErrNotFound
// (nothing to approve), ErrConflict (the metadata changed since).
func DecideClient(ctx context.Context, st store.ApprovalStore, log *slog.Logger, d store.ClientDecision, by string) (ApprovalView, error) {
	rec, revoked, err := st.DecideClientApproval(ctx, d)
	if err != nil {
		return ApprovalView{}, err
	}
	event := AuditClientApproved
	if rec.State == store.ApprovalBlocked {
		event = AuditClientBlocked
	}
	Audit(ctx, log, event, "client_id", rec.ClientID, "kind", rec.Kind, "fingerprint", rec.Fingerprint,
		"grants_revoked", revoked, "by", by)
	return ApprovalView{Host: urlHost(rec.ClientID), ClientApproval: rec, GrantsRevoked: revoked}, nil
}

func (a *Admin) approvalRoutes(e *echo.Echo) {
	e.GET("/clients/approvals", func(c echo.Context) error {
		state := c.QueryParam("state")
		if state != "" && !slices.Contains([]string{store.ApprovalPending, store.ApprovalApproved, store.ApprovalBlocked}, state) {
			return oauth.InvalidRequest("state must be pending, approved or blocked")
		}
		list, err := ListApprovals(c.Request().Context(), a.s.store, state)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, list)
	})
	e.POST("/clients/approve", func(c echo.Context) error { return a.decide(c, store.ApprovalApproved) })
	e.POST("/clients/block", func(c echo.Context) error { return a.decide(c, store.ApprovalBlocked) })
}

// decide applies an approval or a block from the admin API. Approving a
// client nobody has tried yet is a pre-approval: the server resolves it
// (fetching a CIMD document) and approves its current metadata.
func (a *Admin) decide(c echo.Context, state string) error {
	ctx := c.Request().Context()
	id := c.QueryParam("id")
	if id == "" {
		return oauth.InvalidRequest("id is required")
	}
	// want is the fingerprint (or its prefix, as `pending` lists it) the
	// administrator looked at; the decision applies only to that.
	want := c.QueryParam("fingerprint")
	changed := oauth.New("conflict", http.StatusConflict, "%s changed since you looked: list it again (gatehouse admin clients pending) and approve what it is now", id)
	d := store.ClientDecision{ClientID: id, State: state, At: a.s.now()}
	rec, err := a.s.store.ClientApproval(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		client, rerr := a.s.policy().clients.ResolveClient(ctx, id)
		switch {
		case rerr == nil:
			d.Kind, d.ClientName = string(client.Kind), client.Metadata.ClientName
			if fp := oauth.ApprovalFingerprint(client.Metadata); state == store.ApprovalApproved {
				if !strings.HasPrefix(fp, want) {
					return changed
				}
				d.Fingerprint = fp // a pre-approval of the client as it is now
			}
		case state == store.ApprovalApproved:
			return notFound("%s has no approval request and cannot be resolved: %s", id, descriptionOf(rerr))
		}
	case err != nil:
		return err
	case want != "":
		if !strings.HasPrefix(rec.Fingerprint, want) {
			return changed
		}
		d.Fingerprint = rec.Fingerprint // and not another, should it change meanwhile
	}
	view, err := DecideClient(ctx, a.s.store, requestLogger(c, a.s.log), d, "admin")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s has no approval request", id)
	case errors.Is(err, store.ErrConflict):
		return changed
	case err != nil:
		return err
	}
	a.s.approvalChanged(ctx, id)
	if state == store.ApprovalBlocked && a.opts.CIMD != nil {
		a.opts.CIMD.Purge(id)
	}
	a.s.metrics.approvalDecision(state)
	a.action(c, "client_"+map[string]string{store.ApprovalApproved: "approve", store.ApprovalBlocked: "block"}[state], "client_id", id)
	return c.JSON(http.StatusOK, view)
}
