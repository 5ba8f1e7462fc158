package cimd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Fetch outcomes: the metric label vocabulary (one per fetch). Keep stable.
const (
	OutcomeOK              = "ok"
	OutcomeNotModified     = "not_modified"
	OutcomeTimeout         = "timeout"
	OutcomeTooLarge        = "too_large"
	OutcomeBlockedAddress  = "blocked_address"
	OutcomeBadStatus       = "bad_status"
	OutcomeInvalidDocument = "invalid_document"
	OutcomePolicyDenied    = "policy_denied"
	// OutcomeNetworkError covers DNS failures, refused connections and TLS
	// verification failures: the host is unreachable, not hostile.
	OutcomeNetworkError = "network_error"
	// OutcomeInternalError is a bug in Gatehouse, not the client's fault.
	OutcomeInternalError = "internal_error"
)

// Spec references cited by this package's errors and findings.
const (
	specFetch      = "CIMD -02 §5"
	specSize       = "CIMD -02 §5 (5 KB)"
	specStatus     = "CIMD -02 §5.1"
	specSSRF       = "CIMD -02 §8.6"
	specClientID   = "CIMD -02 §4.1"
	specForbidden  = "CIMD -02 §4.1"
	specAuth       = "CIMD -02 §8.2"
	specMCPFields  = "MCP 2025-11-25 §5.1.1"
	specRFC7591    = "RFC 7591 §2"
	specNarrow     = "Gatehouse §6.2"
	specRedirect   = "Gatehouse §6.6"
	specJSON       = "RFC 8259"
	specJWK        = "RFC 7517 §5"
	specPrivateKey = "CIMD -02 §4.1"
)

// FetchError is a failed fetch, classified by Outcome. Detail is safe to
// show to the client (it names the URL's host, an address or a status,
// never an internal error); Err is the cause, for logs.
type FetchError struct {
	Outcome string
	URL     string
	Status  int // HTTP status when Outcome is bad_status or throttled
	Detail  string
	Spec    string
	Err     error
	// RetryAfter is the host's Retry-After when Outcome is throttled (0:
	// none); the failure backoff waits at least this long.
	RetryAfter time.Duration
}

func (e *FetchError) Error() string {
	if e.Spec == "" {
		return e.Detail
	}
	return e.Detail + " (" + e.Spec + ")"
}

func (e *FetchError) Unwrap() error { return e.Err }

func fetchErr(outcome, url, spec string, cause error, format string, args ...any) *FetchError {
	return &FetchError{Outcome: outcome, URL: url, Spec: spec, Err: cause, Detail: fmt.Sprintf(format, args...)}
}

// ValidationError is a document (or key set) that breaks a rule. Rule is
// the finding's rule identifier.
type ValidationError struct {
	Rule   string
	Detail string
	Spec   string
}

func (e *ValidationError) Error() string {
	if e.Spec == "" {
		return e.Detail
	}
	return e.Detail + " (" + e.Spec + ")"
}

// OutcomeOf classifies err with the fetch-outcome vocabulary, for metrics
// and logs: nil is "ok"; an address refused before or after DNS is
// "blocked_address"; a client_id or host policy refusal is
// "policy_denied"; a document breaking a rule is "invalid_document".
func OutcomeOf(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Outcome
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return OutcomeInvalidDocument
	}
	var re *policy.RuleError
	if errors.As(err, &re) {
		if re.Rule == policy.RuleIPSpelling {
			return OutcomeBlockedAddress
		}
		return OutcomePolicyDenied
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return OutcomeTimeout
	}
	if oauth.Code(err) != "" && oauth.Code(err) != oauth.ErrCodeServerError {
		return OutcomePolicyDenied
	}
	return OutcomeInternalError
}

// clientError turns an internal error into what callers get: an
// *oauth.Error (invalid_client) whose description is subject + the rule,
// wrapping the typed cause so that OutcomeOf still works. Errors that are
// not the client's fault are returned unchanged.
func clientError(subject string, err error) error {
	if err == nil {
		return nil
	}
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return err
	}
	var fe *FetchError
	var ve *ValidationError
	var re *policy.RuleError
	switch {
	case errors.As(err, &fe), errors.As(err, &ve), errors.As(err, &re):
		return oauth.InvalidClient("%s: %s", subject, err.Error()).WithCause(err)
	}
	return err
}

// UnreachableDescription is the one description every caller of the
// public endpoints gets when a document, key set or logo could not be
// fetched because of its host's address or name: a refused address
// (private, loopback, metadata, ...), a failed or empty DNS lookup, a
// refused or timed-out connection. The precise reason ("host db resolves
// to 10.0.0.8", "no such host") would let an anonymous caller map the
// network Gatehouse sits in and learn which internal names exist (CWE-209,
// OWASP SSRF prevention); it goes to the log (cimd: fetch failed), the
// metrics (gatehouse_cimd_fetches_total{outcome}) and gatehouse cimd check.
const UnreachableDescription = "the host is unreachable from this server or its address is not allowed " +
	"(the server log and gatehouse cimd check give the reason)"

// concealed reports whether a fetch outcome is one whose precise reason
// describes the network rather than the document.
func concealed(outcome string) bool {
	switch outcome {
	case OutcomeBlockedAddress, OutcomeNetworkError, OutcomeTimeout:
		return true
	}
	return false
}

// callerError is clientError for answers to the public endpoints:
// address and lookup refusals all read UnreachableDescription. The cause
// is kept (WithCause), so OutcomeOf and the log still see the reason.
func callerError(subject string, err error) error {
	var fe *FetchError
	if errors.As(err, &fe) && concealed(fe.Outcome) {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			err = oe.Cause()
		}
		return oauth.InvalidClient("%s: %s", subject, UnreachableDescription).WithCause(err)
	}
	return clientError(subject, err)
}
