package store

import (
	"context"
	"time"
)

// Approval states of a client (client_profiles[].approval: admin, and any
// client an administrator blocked).
const (
	// ApprovalPending: the client waits for an administrator; nothing is
	// issued to it.
	ApprovalPending = "pending"
	// ApprovalApproved: an administrator approved the client as its
	// metadata stood (Fingerprint).
	ApprovalApproved = "approved"
	// ApprovalBlocked: an administrator refused the client; it gets
	// nothing, whatever its profile.
	ApprovalBlocked = "blocked"
)

// Reasons a client is pending.
const (
	// ApprovalReasonNew: the client appeared for the first time.
	ApprovalReasonNew = "new"
	// ApprovalReasonChanged: an approved client's security-relevant
	// metadata changed (redirect URIs, keys, auth method).
	ApprovalReasonChanged = "changed"
)

// ClientApproval is the approval record of one client. It lives in the
// store, not in a process, because several instances may share one
// database: an approval given through any of them holds for all.
type ClientApproval struct {
	ClientID string `json:"client_id"`
	State    string `json:"state"`
	// Kind is static, dcr or cimd.
	Kind string `json:"kind"`
	// ClientName is the client's self-asserted name when it was last seen
	// (display only).
	ClientName string `json:"client_name,omitempty"`
	// Profile is the client profile that required approval.
	Profile string `json:"profile,omitempty"`
	// Fingerprint is the oauth.ApprovalFingerprint of the client's
	// metadata: for a pending client, what an approval approves; for an
	// approved one, what was approved.
	Fingerprint string `json:"fingerprint,omitempty"`
	// ApprovedFingerprint is, for a client back in the queue, the
	// fingerprint that had been approved.
	ApprovedFingerprint string `json:"approved_fingerprint,omitempty"`
	// Reason says why a client is pending (ApprovalReasonNew or
	// ApprovalReasonChanged).
	Reason string `json:"reason,omitempty"`
	// RequestedAt is when the client (last) entered the queue.
	RequestedAt time.Time `json:"requested_at,omitzero"`
	// DecidedAt is the administrator's last decision.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ClientDecision is an administrator's decision about a client.
type ClientDecision struct {
	ClientID string
	// State is ApprovalApproved or ApprovalBlocked.
	State string
	// Fingerprint, for an approval: approve only if the record's
	// fingerprint is this one (what the administrator looked at); a client
	// with no record yet is approved for it (a pre-approval). "" approves
	// the record as it stands.
	Fingerprint string
	// Kind and ClientName describe a client with no record yet.
	Kind, ClientName string
	At               time.Time
}

// ApprovalStore persists client approvals.
type ApprovalStore interface {
	// ClientApproval returns a client's record; ErrNotFound if it has none.
	ClientApproval(ctx context.Context, clientID string) (ClientApproval, error)
	// ClientApprovals lists every record, oldest request first.
	ClientApprovals(ctx context.Context) ([]ClientApproval, error)
	// RequestClientApproval records that a client whose profile requires
	// approval appeared with metadata fingerprint a.Fingerprint at
	// a.RequestedAt, and returns its record. Atomically:
	//   - no record: a is stored as pending (reason new), queued is true;
	//   - pending: the fingerprint, name and profile are brought up to date;
	//   - approved under another fingerprint: pending again (reason
	//     changed, ApprovedFingerprint kept), queued is true;
	//   - approved under this fingerprint, or blocked: unchanged.
	// Of concurrent calls for one client, across processes sharing the
	// database, at most one gets queued true.
	RequestClientApproval(ctx context.Context, a ClientApproval) (stored ClientApproval, queued bool, err error)
	// DecideClientApproval applies d atomically and returns the record
	// and, for a block, how many grants were revoked (with their access
	// tokens, as RevokeClientGrants). An approval of a client with no
	// record and no d.Fingerprint is ErrNotFound; of a record whose
	// fingerprint differs from a non-empty d.Fingerprint, ErrConflict
	// (the metadata changed since the administrator looked). A block
	// needs no record.
	DecideClientApproval(ctx context.Context, d ClientDecision) (ClientApproval, int, error)
}
