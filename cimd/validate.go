package cimd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Validation is the outcome of validating one metadata document.
type Validation struct {
	// Client is the effective (narrowed) client, nil when refused.
	Client *oauth.Client
	// Findings lists every rule's verdict, in order.
	Findings []Finding
	// DroppedRedirects are redirect_uris entries the policy refused.
	DroppedRedirects []DroppedRedirect
	// Keys is the parsed inline jwks, when the document has one.
	Keys *KeySet
}

// ValidateDocument applies CIMD -02 §4 and Gatehouse's decisions
// (requirements §6.2, §6.3, §6.6) to a fetched document body. requested is
// the client_id being resolved and fetched the URL the body came from;
// both must equal the document's client_id exactly. mode is the operator's
// redirect policy.
//
// It refuses what is unsafe (shared secrets, private keys, a mismatched
// client_id, redirect URIs off the client's site when none is left) and
// narrows what is merely unsupported (unknown grant and response types,
// URLs that break the rules, unknown fields). The returned Validation is
// never nil: a refused document still carries its findings for the check
// report. The error is a *ValidationError naming the first broken rule.
func ValidateDocument(body []byte, requested, fetched string, mode policy.RedirectMode) (*Validation, error) {
	v := &docValidator{requested: requested, fetched: fetched, mode: mode}
	v.run(body)
	out := &Validation{Findings: v.findings, DroppedRedirects: v.dropped, Keys: v.keys}
	if err := v.findings.firstFailure(); err != nil {
		return out, err
	}
	out.Client = &oauth.Client{
		ID:          requested,
		Kind:        oauth.ClientCIMD,
		Metadata:    v.md,
		Fingerprint: Fingerprint(requested, &v.md, v.keys),
	}
	return out, nil
}

// docValidator holds the state of one validation. Each step reads fields
// from raw (exact, case-sensitive keys: no encoding/json case folding,
// which would let "CLIENT_ID" override "client_id") and fills md.
type docValidator struct {
	requested, fetched string
	mode               policy.RedirectMode

	raw      map[string]json.RawMessage
	md       oauth.ClientMetadata
	keys     *KeySet
	findings findings
	dropped  []DroppedRedirect
	used     map[string]bool
}

func (v *docValidator) run(body []byte) {
	raw, err := oauth.DecodeJSONObject(body)
	if err != nil {
		v.findings.fail("json", specJSON, "document "+err.Error())
		return
	}
	v.raw = raw
	v.findings.pass("json", specJSON, fmt.Sprintf("a JSON object of %d bytes, no duplicate keys", len(body)))
	v.used = map[string]bool{}
	for _, step := range []func(){
		v.checkClientID,
		v.checkNoSecrets,
		v.checkClientName,
		v.checkAuthMethod,
		v.checkKeys,
		v.checkSigningAlg,
		v.checkGrantTypes,
		v.checkResponseTypes,
		v.checkRedirectURIs,
		v.checkURLFields,
		v.checkScope,
		v.checkOtherFields,
		v.reportIgnoredFields,
	} {
		step()
	}
}

// field returns the raw value of a member, treating null as absent, and
// marks it as understood.
func (v *docValidator) field(name string) (json.RawMessage, bool) {
	v.used[name] = true
	raw, ok := v.raw[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// stringField decodes a string member. A present member of another type
// is a failure of rule when required, otherwise it is dropped (narrowed).
func (v *docValidator) stringField(rule, spec, name string, required bool) (string, bool) {
	raw, ok := v.field(name)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		v.typeProblem(rule, spec, name, "a string", required)
		return "", false
	}
	return s, true
}

func (v *docValidator) stringListField(rule, spec, name string, required bool) ([]string, bool) {
	raw, ok := v.field(name)
	if !ok {
		return nil, false
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		v.typeProblem(rule, spec, name, "an array of strings", required)
		return nil, false
	}
	return list, true
}

func (v *docValidator) typeProblem(rule, spec, name, want string, required bool) {
	if required {
		v.findings.fail(rule, spec, fmt.Sprintf("%s must be %s", name, want))
		return
	}
	v.findings.narrow(rule, spec, fmt.Sprintf("%s is not %s; ignored", name, want))
}

func (v *docValidator) checkClientID() {
	id, ok := v.stringField("client-id", specClientID, "client_id", true)
	switch {
	case !ok && !v.failed("client-id"):
		v.findings.fail("client-id", specClientID, "client_id is missing")
	case !ok:
	case id != v.requested:
		v.findings.fail("client-id", specClientID, fmt.Sprintf(
			"client_id %q does not match the URL fetched, %q (exact string comparison)", id, v.requested))
	case id != v.fetched:
		v.findings.fail("client-id", specClientID, fmt.Sprintf(
			"client_id %q does not match the URL fetched, %q", id, v.fetched))
	default:
		v.findings.pass("client-id", specClientID, "client_id equals the URL fetched")
	}
}

func (v *docValidator) failed(rule string) bool {
	return slices.ContainsFunc(v.findings, func(f Finding) bool { return f.Rule == rule && f.Status == StatusFailed })
}

func (v *docValidator) checkNoSecrets() {
	var present []string
	for _, name := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := v.raw[name]; ok {
			present = append(present, name)
		}
		v.used[name] = true
	}
	if len(present) > 0 {
		v.findings.fail("no-client-secret", specForbidden, fmt.Sprintf(
			"%s must not appear in a metadata document (it is public)", strings.Join(present, " and ")))
		return
	}
	v.findings.pass("no-client-secret", specForbidden, "no client_secret")
}
