package cimd

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// checkClientName: required for MCP clients (MCP-25-11 §5.1.1). It is shown
// to users, so it follows the one display-text rule of DCR too
// (policy.CheckDisplayText): no control, bidirectional or invisible
// characters, which could disguise a name ("evil" rendered as "live").
func (v *docValidator) checkClientName() {
	const rule = "client-name"
	name, ok := v.stringField(rule, specMCPFields, "client_name", true)
	switch {
	case !ok && v.failed(rule):
		return
	case !ok || name == "":
		v.findings.fail(rule, specMCPFields, "client_name is missing or empty")
		return
	}
	if err := policy.CheckDisplayText("client_name", name, policy.MaxClientNameRunes); err != nil {
		v.findings.fail(rule, specMCPFields, errorDetail(err))
		return
	}
	v.md.ClientName = name
	v.findings.pass(rule, specMCPFields, fmt.Sprintf("%q (self-asserted: users also see the client_id host)", name))
}

// errorDetail is a rule error's detail without its spec suffix.
func errorDetail(err error) string {
	var re *policy.RuleError
	if errors.As(err, &re) {
		return re.Detail
	}
	return err.Error()
}

// checkGrantTypes narrows grant_types to what Gatehouse supports for CIMD
// clients: authorization_code and refresh_token, plus client_credentials
// for private_key_jwt clients (a public client cannot use it). Everything
// else (device_code, jwt-bearer, implicit, password...) is dropped, not a
// reason to refuse (decision §6.2, policy.NarrowGrantTypes: the rule DCR
// follows too). A missing list means RFC 7591's default,
// authorization_code.
func (v *docValidator) checkGrantTypes() {
	const rule = "grant-types"
	list, present := v.stringListField(rule, specRFC7591, "grant_types", true)
	if v.failed(rule) {
		return
	}
	if !present {
		list = []string{oauth.GrantAuthorizationCode}
		v.findings.narrow(rule, specRFC7591, "grant_types is absent: authorization_code (RFC 7591 default)")
	}
	kept, n := policy.NarrowGrantTypes(list)
	v.narrowed(rule, n)
	if slices.Contains(kept, oauth.GrantClientCredentials) && !v.privateKeyJWT() {
		kept = slices.DeleteFunc(kept, func(g string) bool { return g == oauth.GrantClientCredentials })
		v.findings.narrow(rule, specNarrow, "dropped client_credentials: a metadata document client can use it only with private_key_jwt")
	}
	if !slices.Contains(kept, oauth.GrantAuthorizationCode) && !slices.Contains(kept, oauth.GrantClientCredentials) {
		v.findings.fail(rule, specNarrow, "no usable grant type is left (Gatehouse supports authorization_code, "+
			"refresh_token, and client_credentials for private_key_jwt clients)")
		return
	}
	v.md.GrantTypes = kept
	v.findings.pass(rule, specNarrow, strings.Join(kept, ", "))
}

// narrowed records a policy.Narrowing as a narrowed finding.
func (v *docValidator) narrowed(rule string, n *policy.Narrowing) {
	if n != nil {
		v.findings.narrow(rule, n.Spec, n.Reason)
	}
}

func (v *docValidator) usesAuthorizationCode() bool {
	return slices.Contains(v.md.GrantTypes, oauth.GrantAuthorizationCode)
}

// checkResponseTypes keeps only "code" (OAuth 2.1 removes the implicit
// grant); a missing list means ["code"].
func (v *docValidator) checkResponseTypes() {
	const rule = "response-types"
	list, present := v.stringListField(rule, specRFC7591, "response_types", true)
	if v.failed(rule) || !v.usesAuthorizationCode() {
		return
	}
	if !present {
		list = []string{oauth.ResponseTypeCode}
	}
	kept, n := policy.NarrowResponseTypes(list)
	v.narrowed(rule, n)
	if len(kept) == 0 {
		v.findings.fail(rule, specRFC7591, `response_types must include "code" for the authorization_code grant`)
		return
	}
	v.md.ResponseTypes = []string{oauth.ResponseTypeCode}
}

// checkRedirectURIs checks EVERY entry against the redirect policy when the
// document is accepted, not only the one a request names (Keycloak #50748
// checked one); entries that break it are dropped and remembered, and a
// document left without a usable redirect URI is refused (decision §6.6).
func (v *docValidator) checkRedirectURIs() {
	const rule = "redirect-uris"
	list, present := v.stringListField(rule, specMCPFields, "redirect_uris", true)
	if v.failed(rule) || !v.usesAuthorizationCode() {
		return
	}
	if !present || len(list) == 0 {
		v.findings.fail(rule, specMCPFields, "redirect_uris is missing or empty")
		return
	}
	var kept []string
	for _, uri := range list {
		if slices.Contains(kept, uri) {
			continue
		}
		if err := policy.CheckRedirectURI(v.mode, v.requested, uri); err != nil {
			v.dropped = append(v.dropped, DroppedRedirect{URI: uri, Reason: err.Error()})
			v.findings.narrow(rule, specRedirect, fmt.Sprintf("dropped %s: %v", uri, err))
			continue
		}
		kept = append(kept, uri)
	}
	if len(kept) == 0 {
		v.findings.fail(rule, specRedirect, fmt.Sprintf(
			"no redirect URI is usable under the %s redirect policy", v.mode))
		return
	}
	v.md.RedirectURIs = kept
	v.findings.pass(rule, specRedirect, fmt.Sprintf("%d usable redirect URI(s) under the %s policy", len(kept), v.mode))
}

// checkURLFields: client_uri, logo_uri, tos_uri and policy_uri must be
// https (policy.NarrowMetadataURL, the rule DCR follows too); a bad one is
// dropped, never fatal, and none is bound to the client's site (decision
// §6.6).
func (v *docValidator) checkURLFields() {
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"client_uri", &v.md.ClientURI},
		{"logo_uri", &v.md.LogoURI},
		{"tos_uri", &v.md.TOSURI},
		{"policy_uri", &v.md.PolicyURI},
	} {
		rule := strings.ReplaceAll(f.name, "_", "-")
		s, ok := v.stringField(rule, specSSRF, f.name, false)
		if !ok {
			continue
		}
		kept, n := policy.NarrowMetadataURL(f.name, s)
		v.narrowed(rule, n)
		*f.dst = kept
	}
}

// checkScope keeps the RFC 6749 §3.3 scope tokens and drops malformed ones.
func (v *docValidator) checkScope() {
	s, ok := v.stringField("scope", "RFC 6749 §3.3", "scope", false)
	if !ok {
		return
	}
	var kept, dropped []string
	for _, tok := range oauth.SplitScope(s) {
		if validScopeToken(tok) {
			kept = append(kept, tok)
		} else {
			dropped = append(dropped, fmt.Sprintf("%q", tok))
		}
	}
	if len(dropped) > 0 {
		v.findings.narrow("scope", "RFC 6749 §3.3", "dropped malformed scope token(s): "+strings.Join(dropped, ", "))
	}
	v.md.Scope = oauth.JoinScope(kept)
}

// validScopeToken: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// checkOtherFields keeps the remaining registered fields Gatehouse
// displays or logs, and drops software_statement: Gatehouse does not
// evaluate software statements (RFC 7591 §2.3 lets the AS ignore them), so
// no later code may mistake it for a verified claim.
func (v *docValidator) checkOtherFields() {
	if at, ok := v.stringField("application-type", policy.SpecApplicationType, "application_type", false); ok {
		var n *policy.Narrowing
		v.md.ApplicationType, n = policy.NarrowApplicationType(at)
		v.narrowed("application-type", n)
	}
	contacts, _ := v.stringListField("contacts", specRFC7591, "contacts", false)
	for i, c := range contacts {
		if v.displayText("contacts", fmt.Sprintf("contacts[%d]", i), c, policy.MaxContactRunes) != "" {
			v.md.Contacts = append(v.md.Contacts, c)
		}
	}
	id, _ := v.stringField("software-id", specRFC7591, "software_id", false)
	v.md.SoftwareID = v.displayText("software-id", "software_id", id, policy.MaxShortFieldRunes)
	version, _ := v.stringField("software-version", specRFC7591, "software_version", false)
	v.md.SoftwareVersion = v.displayText("software-version", "software_version", version, policy.MaxShortFieldRunes)
	if _, ok := v.field("software_statement"); ok {
		v.findings.narrow("software-statement", "RFC 7591 §2.3", "software_statement is not evaluated by Gatehouse; dropped")
	}
}

// displayText returns s when it passes the display-text rule, or drops it
// (an optional field is narrowed away, never a reason to refuse).
func (v *docValidator) displayText(rule, field, s string, max int) string {
	if s == "" {
		return ""
	}
	if err := policy.CheckDisplayText(field, s, max); err != nil {
		v.findings.narrow(rule, policy.SpecDisplayText, errorDetail(err)+"; dropped")
		return ""
	}
	return s
}

// reportIgnoredFields lists members Gatehouse does not use (RFC 7591 §2:
// the AS MUST ignore what it does not understand).
func (v *docValidator) reportIgnoredFields() {
	var ignored []string
	for name := range v.raw {
		if !v.used[name] {
			ignored = append(ignored, name)
		}
	}
	if len(ignored) == 0 {
		return
	}
	slices.Sort(ignored)
	v.findings.narrow("ignored-fields", specRFC7591, "not used by Gatehouse: "+strings.Join(ignored, ", "))
}
