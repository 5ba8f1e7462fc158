package store

import "time"

// RecordKind names one kind of persisted record, for copying an
// installation from one backend to another (gatehouse store copy).
type RecordKind string

// The kinds of record a backend exports, in the order they are exported.
const (
	KindSecret       RecordKind = "secrets"
	KindSigningKey   RecordKind = "signing_keys"
	KindUser         RecordKind = "users"
	KindIdentity     RecordKind = "identities"
	KindSession      RecordKind = "sessions"
	KindClient       RecordKind = "dcr_clients"
	KindInitialToken RecordKind = "dcr_initial_tokens"
	KindGrant        RecordKind = "grants"
	KindRefreshToken RecordKind = "refresh_tokens"
	KindCode         RecordKind = "auth_codes"
	KindConsent      RecordKind = "consents"
	KindRevokedToken RecordKind = "revoked_access_tokens"
	KindAssertionID  RecordKind = "assertion_ids"
	KindApproval     RecordKind = "client_approvals"
)

// RecordKinds lists every kind in export order.
var RecordKinds = []RecordKind{
	KindSecret, KindSigningKey, KindUser, KindIdentity, KindSession, KindClient, KindInitialToken,
	KindGrant, KindRefreshToken, KindCode, KindConsent, KindRevokedToken, KindAssertionID, KindApproval,
}

// Record is one exported record. Value is the record type of its kind:
// NamedSecret, SigningKey, User, Identity, Session, RegisteredClient,
// InitialAccessToken, Grant, RefreshToken, AuthCode, Consent, IssuedToken
// (a revoked access token), AssertionID or ClientApproval.
type Record struct {
	Kind  RecordKind
	Value any
}

// NamedSecret is an installation secret (MetaStore.Secret).
type NamedSecret struct {
	Name  string
	Value []byte
}

// AssertionID is a used client assertion jti (ReplayStore).
type AssertionID struct {
	ClientID  string
	JTI       string
	ExpiresAt time.Time
}
