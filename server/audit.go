package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Audit event names. They are a contract with operators' alerting rules:
// add new ones freely, never rename one.
const (
	AuditClientRegistered = "client_registered"
	AuditClientUpdated    = "client_updated"
	AuditClientDeleted    = "client_deleted"
	AuditClientExpired    = "client_expired"
	AuditConsentGranted   = "consent_granted"
	AuditConsentDenied    = "consent_denied"
	AuditConsentRevoked   = "consent_revoked"
	AuditDocumentChanged  = "cimd_document_changed"
	AuditRefreshReuse     = "refresh_reuse"
	// AuditRefreshGrace: a rotated refresh token was accepted again within
	// tokens.refresh_token_grace_period; nothing was revoked.
	AuditRefreshGrace        = "refresh_grace"
	AuditCodeReplay          = "code_replay"
	AuditPolicyDenial        = "policy_denial"
	AuditTokenRevoked        = "token_revoked"
	AuditAdminAction         = "admin_action"
	AuditConfigReloaded      = "config_reloaded"
	AuditConfigReloadRefused = "config_reload_refused"
	AuditLoginSucceeded      = "login_succeeded"
	AuditLoginFailed         = "login_failed"
	AuditLoginSlowed         = "login_slowed"
	// AuditLoginTrustedDevice: a trusted-device cookie let a sign-in skip
	// the slowdown of an account under attack (outcome exempted), or was
	// refused that because its own failures used up its allowance
	// (outcome exhausted: it may be stolen).
	AuditLoginTrustedDevice   = "login_trusted_device"
	AuditSigningKeyRotated    = "signing_key_rotated"
	auditMessage              = "audit"
	auditLevelAttentionNeeded = slog.LevelWarn
)

// auditResolveFailure records a policy denial when a URL client ID was
// refused by the operator's CIMD policy (host lists, client_id rules).
func (s *Server) auditResolveFailure(ctx context.Context, log *slog.Logger, clientID string, err error) {
	if strings.HasPrefix(clientID, "https://") && cimd.OutcomeOf(err) == cimd.OutcomePolicyDenied {
		Audit(ctx, log, AuditPolicyDenial, "client_id", clientID, "reason", oauth.Code(err)+": "+descriptionOf(err))
	}
}

func descriptionOf(err error) string {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe.Description
	}
	return err.Error()
}

// attention lists events that suggest an attack or a misconfiguration;
// they are logged at WARN so they stand out.
var attention = map[string]bool{
	AuditRefreshReuse: true, AuditCodeReplay: true, AuditPolicyDenial: true, AuditConfigReloadRefused: true,
	AuditLoginSlowed: true,
}

// Audit writes one security event: the message "audit", the attribute
// event=<name>, and the event's details. Operators select audit lines with
// msg=audit (text) or "msg":"audit" (JSON) and key alerts on event.
func Audit(ctx context.Context, log *slog.Logger, event string, attrs ...any) {
	level := slog.LevelInfo
	if attention[event] {
		level = auditLevelAttentionNeeded
	}
	log.Log(ctx, level, auditMessage, append([]any{"event", event}, attrs...)...)
}
