package policy

import (
	"fmt"
	"strings"
)

// CheckMetadataURL checks a URL-valued metadata field other than
// redirect_uris (client_uri, logo_uri, tos_uri, policy_uri, jwks_uri):
// an absolute https URL (scheme exactly "https"), a well-formed host, no
// userinfo, no fragment, at most MaxURLLength bytes. A query is allowed
// (logo URLs often carry a version) and the path may be empty
// ("https://beta.twitchat.fr" is a real client_uri).
//
// These URLs are deliberately NOT bound to the client_id's site: real
// clients host logos and policies elsewhere (VS Code's logo is on
// code.visualstudio.com). Gatehouse decision §6.6; the consent page never
// presents them as verified, and jwks_uri and logo_uri are fetched only
// through the SSRF-safe fetcher (CIMD -02 §8.6).
//
// field names the metadata field in the error, e.g. "logo_uri".
func CheckMetadataURL(field, raw string) error {
	if err := checkMetadataURL(field, raw); err != nil {
		return err
	}
	return nil
}

func checkMetadataURL(field, raw string) *RuleError {
	prefix := func(e *RuleError) *RuleError {
		e.Detail = field + " " + e.Detail
		return e
	}
	switch {
	case raw == "":
		return prefix(ruleErr(RuleURISyntax, SpecMetadataURL, "is empty"))
	case len(raw) > MaxURLLength:
		return prefix(ruleErr(RuleMaxLength, SpecGatehouseDecide, fmt.Sprintf(
			"is %d bytes long; at most %d are accepted", len(raw), MaxURLLength)))
	}
	if err := checkURIChars(raw); err != nil {
		return prefix(err)
	}
	u, ok := splitURI(raw)
	if !ok || u.scheme != "https" || !u.hasAuthority {
		scheme := "none"
		if ok {
			scheme = u.scheme
		}
		return prefix(ruleErr(RuleHTTPSScheme, SpecSSRF, fmt.Sprintf(
			"must be an absolute https URL (scheme %q is not accepted)", strings.ToLower(scheme))))
	}
	if u.hasFragment {
		return prefix(ruleErr(RuleNoFragment, SpecMetadataURL, "must not contain a fragment ('#')"))
	}
	if err := checkAuthority(u, SpecMetadataURL); err != nil {
		return prefix(err)
	}
	return nil
}
