package policy

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Narrowing is a self-asserted metadata value Gatehouse dropped rather
// than refused: the client is still registered (DCR) or accepted (CIMD),
// without that value, and the narrowing is reported (the DCR response
// shows the metadata in force, RFC 7591 §3.2.1; gatehouse cimd check lists
// it; both paths log it).
//
// One rule for both client paths (decision §6.2): a value Gatehouse does
// not know or cannot use is narrowed when dropping it leaves a client that
// works as its author intended, minus an optional feature: an unknown
// application_type, grant or response type, an unusable logo or other
// descriptive URL. It is refused when dropping it would change how the
// client authenticates or leave nothing to use (see the callers).
type Narrowing struct {
	// Field is the metadata member ("application_type", "logo_uri", ...).
	Field string
	// Value is what was dropped (for lists, the dropped members joined
	// with ", ").
	Value string
	// Reason says what was dropped and why, naming the field, in words a
	// client developer can act on.
	Reason string
	// Spec names the rule.
	Spec string
}

// String is the reason and its rule; every Reason names its field.
func (n Narrowing) String() string {
	return fmt.Sprintf("%s (%s)", n.Reason, n.Spec)
}

// Spec references of the narrowing rules.
const (
	SpecApplicationType = "OIDC Registration §2"
	// SpecNarrow is the decision to narrow rather than refuse
	// (../shared/spec/requirements.md §6.2; RFC 7591 §3.2.1 lets a server
	// replace requested values).
	SpecNarrow = "Gatehouse §6.2"
)

// NarrowApplicationType keeps "web" and "native" (OpenID Connect Dynamic
// Registration §2, which MCP clients send) and drops anything else,
// including other spellings ("Native"): the value only informs defaults,
// so a client that sent an unknown one gets the default. "" stays "".
func NarrowApplicationType(v string) (string, *Narrowing) {
	switch v {
	case "", "web", "native":
		return v, nil
	}
	return "", &Narrowing{Field: "application_type", Value: clipValue(v),
		Reason: fmt.Sprintf("application_type %q is unknown; dropped", clipValue(v)), Spec: SpecApplicationType}
}

// supportedGrants are the grant types Gatehouse implements. Whether a
// client may use client_credentials is each path's own rule.
var supportedGrants = []string{"authorization_code", "refresh_token", "client_credentials"}

// NarrowGrantTypes keeps the supported grant types, deduplicated and in
// order, and drops the rest: grants Gatehouse does not implement
// (device_code, jwt-bearer, token-exchange...), those OAuth 2.1 removed
// (implicit, password) and unknown values. The caller refuses a client
// left without a usable grant.
func NarrowGrantTypes(list []string) ([]string, *Narrowing) {
	var kept, dropped []string
	for _, g := range list {
		switch {
		case slices.Contains(kept, g):
		case slices.Contains(supportedGrants, g):
			kept = append(kept, g)
		case !slices.Contains(dropped, g):
			dropped = append(dropped, clipValue(g))
		}
	}
	if len(dropped) == 0 {
		return kept, nil
	}
	v := strings.Join(dropped, ", ")
	return kept, &Narrowing{Field: "grant_types", Value: v,
		Reason: "dropped unsupported grant type(s): " + v, Spec: SpecNarrow}
}

// NarrowResponseTypes keeps "code" and drops the rest (OAuth 2.1 removed
// the implicit and hybrid flows). The caller refuses a client that uses
// the authorization_code grant but listed response types without "code".
func NarrowResponseTypes(list []string) ([]string, *Narrowing) {
	var kept, dropped []string
	for _, t := range list {
		switch {
		case t == "code":
			if len(kept) == 0 {
				kept = append(kept, t)
			}
		case !slices.Contains(dropped, t):
			dropped = append(dropped, clipValue(t))
		}
	}
	if len(dropped) == 0 {
		return kept, nil
	}
	v := strings.Join(dropped, ", ")
	return kept, &Narrowing{Field: "response_types", Value: v,
		Reason: "dropped unsupported response type(s): " + v, Spec: SpecNarrow}
}

// NarrowMetadataURL keeps a descriptive URL (client_uri, logo_uri, tos_uri,
// policy_uri) that passes CheckMetadataURL and drops one that does not:
// the consent page then shows no logo or link rather than an unusable one.
// "" stays "".
func NarrowMetadataURL(field, v string) (string, *Narrowing) {
	if v == "" {
		return "", nil
	}
	if err := checkMetadataURL(field, v); err != nil {
		return "", &Narrowing{Field: field, Value: clipValue(v), Reason: err.Detail + "; dropped", Spec: err.Spec}
	}
	return v, nil
}

// clipValue bounds a dropped value quoted in a report, on a rune
// boundary.
func clipValue(s string) string {
	if len(s) <= 80 {
		return s
	}
	cut := 80
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
