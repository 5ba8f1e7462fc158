package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// metadataChanges says, in the user's terms, how a client's
// security-relevant metadata differs from what the user approved: the
// consent page lists it when consent is asked again for that reason.
// Redirect URIs are shown as the consent page shows destinations
// (policy.DisplayRedirect), so a change cannot hide behind look-alike
// characters.
func metadataChanges(was, now oauth.SecurityMetadata) []string {
	var out []string
	for _, u := range now.RedirectURIs {
		if !slices.Contains(was.RedirectURIs, u) {
			out = append(out, "It added a place to send you back to: "+policy.DisplayRedirect(u))
		}
	}
	for _, u := range was.RedirectURIs {
		if !slices.Contains(now.RedirectURIs, u) {
			out = append(out, "It removed a place to send you back to: "+policy.DisplayRedirect(u))
		}
	}
	if was.Name != now.Name {
		out = append(out, fmt.Sprintf("Its name changed from “%s” to “%s”", was.Name, now.Name))
	}
	if was.Logo != now.Logo {
		out = append(out, "Its logo changed")
	}
	if was.AuthMethod != now.AuthMethod {
		out = append(out, fmt.Sprintf("The way it proves its identity changed from %s to %s", orNone(was.AuthMethod), orNone(now.AuthMethod)))
	}
	if was.KeysDigest != now.KeysDigest || was.JWKSURI != now.JWKSURI {
		out = append(out, "Its signing keys changed")
	}
	if !slices.Equal(was.GrantTypes, now.GrantTypes) {
		out = append(out, fmt.Sprintf("The kinds of access it may request changed from %s to %s",
			orNone(strings.Join(was.GrantTypes, ", ")), orNone(strings.Join(now.GrantTypes, ", "))))
	}
	if was.Scope != now.Scope {
		out = append(out, fmt.Sprintf("The permissions it may ask for changed from %s to %s", orNone(was.Scope), orNone(now.Scope)))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
