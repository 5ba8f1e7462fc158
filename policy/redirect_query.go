package policy

import (
	"fmt"
	"net/url"
	"strings"
)

// ResponseParams are the parameters Gatehouse adds to a redirect URI in an
// authorization response: the code or the error (OAuth 2.1 §4.1.2,
// §4.1.2.1), the state, and iss (RFC 9207 §2).
var ResponseParams = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// RuleResponseParam: a redirect URI's query already holds an authorization
// response parameter.
const RuleResponseParam = "response-param-in-query"

// SpecNoRepeatParam is the rule that no parameter appears twice.
const SpecNoRepeatParam = "RFC 6749 §3.1"

// CheckRedirectQuery refuses a redirect URI whose query already holds one
// of ResponseParams: the response would carry that parameter twice, which
// RFC 6749 §3.1 forbids ("Request and response parameters MUST NOT be
// included more than once"), and a client reading the first "state" or
// "code" would read the one its own URI planted, not the server's.
//
// The query is read the way receivers read it: fields split on '&' (and on
// ';', which some still treat as a separator), names percent- and
// '+'-decoded, so "c%6Fde=x" and "code" without a value count too. Names
// are compared case-sensitively, like every OAuth parameter name. The
// result is nil or a *RuleError.
func CheckRedirectQuery(redirect string) error {
	if err := checkRedirectQuery(redirect); err != nil {
		return err
	}
	return nil
}

func checkRedirectQuery(redirect string) *RuleError {
	q, ok := redirectQuery(redirect)
	if !ok {
		return nil
	}
	for field := range strings.FieldsFuncSeq(q, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(field, "=")
		if dec, err := url.QueryUnescape(name); err == nil {
			name = dec
		}
		for _, p := range ResponseParams {
			if name == p {
				return ruleErr(RuleResponseParam, SpecNoRepeatParam, fmt.Sprintf(
					"redirect URI query already has %q, which Gatehouse adds to the authorization response; a response parameter must not appear twice", p))
			}
		}
	}
	return nil
}

// redirectQuery is the query of raw: after the first '?', before any '#'.
func redirectQuery(raw string) (string, bool) {
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	_, q, ok := strings.Cut(raw, "?")
	return q, ok
}
