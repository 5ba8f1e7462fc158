package server

// Audit events of client profiles and the approval queue (a contract, as
// the others in audit.go).
const (
	// AuditClientPending: a client whose profile requires approval was
	// queued (reason new), or an approved one is back in the queue because
	// its redirect URIs, keys or auth method changed (reason changed).
	AuditClientPending = "client_pending"
	// AuditClientApproved and AuditClientBlocked: an administrator's
	// decision (admin API or CLI).
	AuditClientApproved = "client_approved"
	AuditClientBlocked  = "client_blocked"
	// AuditClientRefused: a request of a pending or blocked client was
	// turned away (state says which); nothing was issued.
	AuditClientRefused = "client_refused"
	// AuditConsentSkipped: a code was issued without asking the user,
	// because the client's profile says consent: skip.
	AuditConsentSkipped = "consent_skipped"
	// AuditCeilingRefused: a client profile's ceiling refused a request
	// (a resource outside it, client_credentials, refresh tokens).
	AuditCeilingRefused = "profile_ceiling_refused"
)
