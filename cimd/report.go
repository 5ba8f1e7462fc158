package cimd

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// reportWidth is the line width WriteText wraps to.
const reportWidth = 100

var markers = map[FindingStatus]string{StatusPassed: "✓", StatusFailed: "✗", StatusNarrowed: "~"}

var ruleLabels = map[string]string{
	"enabled": "CIMD", "client-id-url": "client_id URL", "host-policy": "host policy", "fetch": "fetch",
	"json": "JSON", "client-id": "client_id", "no-client-secret": "no secret", "client-name": "client_name",
	"auth-method": "auth method", "jwks": "jwks", "jwks-uri": "jwks_uri", "signing-alg": "signing alg",
	"grant-types": "grant_types", "response-types": "response_types", "redirect-uris": "redirect_uris",
	"client-uri": "client_uri", "logo-uri": "logo_uri", "tos-uri": "tos_uri", "policy-uri": "policy_uri",
	"scope": "scope", "application-type": "application_type", "software-statement": "software_stmt",
	"ignored-fields": "other fields", "jwks-uri-keys": "jwks_uri keys", "logo": "logo", "redirect-uri": "redirect_uri",
}

func label(rule string) string {
	if l, ok := ruleLabels[rule]; ok {
		return l
	}
	return rule
}

// WriteText renders the report for a terminal: one aligned line per rule
// with ✓ (passed), ✗ (failed) or ~ (narrowed), the effective client, the
// verdict and what to do next. Plain UTF-8, no colour codes, so it reads
// the same in a terminal, a CI log or a bug report.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Gatehouse CIMD check\n  client_id      %s\n", r.ClientID)
	if r.RedirectURI != "" {
		fmt.Fprintf(&b, "  redirect_uri   %s\n", r.RedirectURI)
	}
	fmt.Fprintf(&b, "  policy         redirects %s · %s\n", r.RedirectPolicy, hostsSummary(r.Hosts))
	if r.Profile != nil {
		fmt.Fprintf(&b, "  profile        %s (%s)\n", r.Profile.Name, r.MatchReason)
	}
	b.WriteString("\n")
	r.writeFindings(&b)
	if r.Client != nil {
		r.writeClient(&b)
	}
	r.writeProfile(&b)
	r.writeVerdict(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func hostsSummary(h policy.HostPolicy) string {
	switch {
	case len(h.Allow) == 0 && len(h.Deny) == 0:
		return "any public host"
	case len(h.Allow) == 0:
		return fmt.Sprintf("any public host except %d denied pattern(s)", len(h.Deny))
	}
	return fmt.Sprintf("allow list of %d pattern(s)", len(h.Allow))
}

func (r *Report) writeFindings(b *strings.Builder) {
	width := 0
	for _, f := range r.Findings {
		width = max(width, utf8.RuneCountInString(label(f.Rule)))
	}
	indent := 2 + 1 + 2 + width + 2 // "  ✓  label  "
	for _, f := range r.Findings {
		text := f.Detail
		if f.Spec != "" {
			// \x00 keeps the citation on one line; wrap splits on spaces.
			text += " [" + strings.ReplaceAll(f.Spec, " ", "\x00") + "]"
		}
		lines := wrap(text, reportWidth-indent)
		for i := range lines {
			lines[i] = strings.ReplaceAll(lines[i], "\x00", " ")
		}
		fmt.Fprintf(b, "  %s  %-*s  %s\n", markers[f.Status], width, label(f.Rule), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
	b.WriteString("\n")
}

func (r *Report) writeClient(b *strings.Builder) {
	c, md := r.Client, r.Client.Metadata
	row := func(k, v string) {
		lines := wrap(v, reportWidth-19)
		fmt.Fprintf(b, "  %-16s %s\n", k, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "%19s%s\n", "", l)
		}
	}
	b.WriteString("Effective client\n")
	host := policy.ClientIDHost(c.ID)
	row("name", fmt.Sprintf("%s (self-asserted; users also see %s)", md.ClientName, host))
	row("authentication", authSummary(c))
	row("grant types", strings.Join(md.GrantTypes, ", "))
	uriWidth := 0
	for _, uri := range md.RedirectURIs {
		uriWidth = max(uriWidth, utf8.RuneCountInString(uri))
	}
	for i, uri := range md.RedirectURIs {
		k := ""
		if i == 0 {
			k = "redirect URIs"
		}
		if policy.IsLoopbackRedirect(uri) && 19+uriWidth+22 <= reportWidth {
			uri = fmt.Sprintf("%-*s  loopback, any port", uriWidth, uri)
		}
		fmt.Fprintf(b, "  %-16s %s\n", k, uri)
	}
	row("scope", orText(md.Scope, "any requested scope"))
	for _, kv := range [][2]string{{"client_uri", md.ClientURI}, {"logo", md.LogoURI}, {"jwks_uri", md.JWKSURI}} {
		if kv[1] != "" {
			row(kv[0], kv[1])
		}
	}
	row("fingerprint", c.Fingerprint[:16]+"… (consent is tied to it)")
	if r.Cache != nil {
		row("cache lifetime", r.Cache.Reason)
		if r.Cache.StaleIfError > 0 {
			row("stale-if-error", fmt.Sprintf("if refreshes fail, the last valid copy is served for up to %s more",
				human(r.Cache.StaleIfError)))
		}
	}
	b.WriteString("\n")
}

// writeProfile lists what the client profile does to the client.
func (r *Report) writeProfile(b *strings.Builder) {
	if r.Profile == nil {
		return
	}
	fmt.Fprintf(b, "Client profile %s\n", r.Profile.Name)
	for _, e := range r.Effects {
		lines := wrap(e.Value, reportWidth-21)
		fmt.Fprintf(b, "  %-18s %s\n", e.Setting, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "%21s%s\n", "", l)
		}
	}
	b.WriteString("\n")
}

func authSummary(c *oauth.Client) string {
	if c.AuthMethod() == oauth.AuthMethodPrivateKeyJWT {
		alg := orText(c.Metadata.TokenEndpointAuthSigningAlg, "any supported algorithm")
		return "private_key_jwt: confidential client, signs assertions with " + alg
	}
	return "none: public client (PKCE S256 required)"
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func (r *Report) writeVerdict(b *strings.Builder) {
	narrowed := 0
	for _, f := range r.Findings {
		if f.Status == StatusNarrowed {
			narrowed++
		}
	}
	if r.Accepted() {
		fmt.Fprintf(b, "✓ ACCEPTED: Gatehouse will use this client as shown above")
		if narrowed > 0 {
			fmt.Fprintf(b, " (%d narrowing(s), marked ~)", narrowed)
		}
		b.WriteString(".\n")
		if r.Profile != nil && r.Profile.NeedsApproval() {
			b.WriteString("  It then waits in the approval queue (client profile " + r.Profile.Name + ") until an administrator approves it.\n")
		}
	} else {
		var oe *oauth.Error
		reason := "see the ✗ lines above"
		if errors.As(r.Err, &oe) {
			reason = oe.Code + ": " + oe.Description
		}
		b.WriteString("✗ REFUSED: " + strings.Join(wrap(reason, reportWidth-12), "\n            ") + "\n")
	}
	hints := r.nextSteps()
	if len(hints) == 0 {
		return
	}
	b.WriteString("\nNext steps\n")
	for _, h := range hints {
		b.WriteString("  • " + strings.Join(wrap(h, reportWidth-4), "\n    ") + "\n")
	}
}

// wrap breaks s into lines of at most width runes at spaces; a word longer
// than width (a URL) gets a line of its own.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}
