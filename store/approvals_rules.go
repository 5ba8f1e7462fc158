package store

import (
	"fmt"
	"time"
)

// NextApproval is the rule of RequestClientApproval, shared by every
// backend: given the current record (exists false: none) and a request,
// it returns the record to keep, whether it changed (must be written),
// and whether the client entered the queue.
func NextApproval(cur ClientApproval, exists bool, req ClientApproval) (next ClientApproval, changed, queued bool) {
	now := req.RequestedAt
	if !exists {
		next = req
		next.State, next.Reason, next.ApprovedFingerprint, next.DecidedAt, next.UpdatedAt = ApprovalPending, ApprovalReasonNew, "", time.Time{}, now
		return next, true, true
	}
	next = cur
	switch cur.State {
	case ApprovalBlocked:
		return cur, false, false
	case ApprovalApproved:
		if cur.Fingerprint == req.Fingerprint {
			return cur, false, false
		}
		next.State, next.Reason, next.ApprovedFingerprint = ApprovalPending, ApprovalReasonChanged, cur.Fingerprint
		next.Fingerprint, next.ClientName, next.Profile, next.Kind = req.Fingerprint, req.ClientName, req.Profile, req.Kind
		next.RequestedAt, next.UpdatedAt = now, now
		return next, true, true
	default: // pending: keep what the administrator will see up to date
		if cur.Fingerprint == req.Fingerprint && cur.ClientName == req.ClientName && cur.Profile == req.Profile {
			return cur, false, false
		}
		next.Fingerprint, next.ClientName, next.Profile, next.UpdatedAt = req.Fingerprint, req.ClientName, req.Profile, now
		return next, true, false
	}
}

// Decide is the rule of DecideClientApproval, shared by every backend: the
// record after an administrator's decision d, or ErrNotFound /
// ErrConflict as DecideClientApproval documents.
func Decide(cur ClientApproval, exists bool, d ClientDecision) (ClientApproval, error) {
	if !exists {
		switch {
		case d.State == ApprovalApproved && d.Fingerprint == "":
			return ClientApproval{}, fmt.Errorf("client %s has no approval request: %w", d.ClientID, ErrNotFound)
		}
		cur = ClientApproval{ClientID: d.ClientID, Kind: d.Kind, ClientName: d.ClientName, Fingerprint: d.Fingerprint}
	}
	switch d.State {
	case ApprovalApproved:
		if d.Fingerprint != "" && exists && d.Fingerprint != cur.Fingerprint {
			return ClientApproval{}, fmt.Errorf("client %s: its metadata changed since (fingerprint %s, not %s): %w",
				d.ClientID, short(cur.Fingerprint), short(d.Fingerprint), ErrConflict)
		}
		cur.ApprovedFingerprint, cur.Reason = "", ""
	case ApprovalBlocked:
		cur.Reason = ""
	default:
		return ClientApproval{}, fmt.Errorf("client decision %q is neither approved nor blocked", d.State)
	}
	cur.State, cur.DecidedAt, cur.UpdatedAt = d.State, d.At, d.At
	return cur, nil
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
