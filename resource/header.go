package resource

import (
	"net/http"
	"strings"
)

// MaxTokenLength bounds the token BearerToken accepts: far above any
// access token Gatehouse issues (about 700 bytes), far below what it would
// cost to parse.
const MaxTokenLength = 8 << 10

// BearerToken extracts the access token from the Authorization header
// (RFC 6750 §2.1): credentials = "Bearer" 1*SP b64token. The scheme is
// case-insensitive (RFC 9110 §11.1) and extra spaces before the token are
// tolerated. Only the header method is supported (the metadata says
// bearer_methods_supported: ["header"]); tokens in the query are refused
// because URLs end up in logs (RFC 6750 §2.3, OAuth 2.1 §5.2).
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	inQuery := hasQueryToken(r)
	switch {
	case len(values) > 1:
		return "", newError(ErrInvalidRequest, nil, "the request has more than one Authorization header")
	case len(values) == 0 && inQuery:
		return "", newError(ErrNoToken, nil, "access tokens are accepted only in the Authorization header")
	case len(values) == 0:
		return "", newError(ErrNoToken, nil, "an access token is required")
	}
	scheme, rest, _ := strings.Cut(strings.Trim(values[0], " \t"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Another authentication method: RFC 6750 §3.1 treats it like no
		// authentication at all.
		return "", newError(ErrNoToken, nil, "an access token is required (Authorization: Bearer)")
	}
	if inQuery {
		// RFC 6750 §3.1: "uses more than one method for including an
		// access token".
		return "", newError(ErrInvalidRequest, nil, "the request carries an access token in both the header and the query")
	}
	token := strings.TrimLeft(rest, " ")
	switch {
	case token == "":
		return "", newError(ErrMalformedToken, nil, "the Bearer credentials carry no token")
	case len(token) > MaxTokenLength:
		return "", newError(ErrMalformedToken, nil, "the access token is too long")
	case !isB64Token(token):
		return "", newError(ErrMalformedToken, nil, "the access token has characters a bearer token cannot have")
	}
	return token, nil
}

func hasQueryToken(r *http.Request) bool {
	return r.URL != nil && strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token")
}

// isB64Token: RFC 6750 §2.1 b64token = 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// Challenge is the WWW-Authenticate value for err (RFC 6750 §3, RFC 9728
// §5.1): the Bearer scheme with error and error_description when a token
// was presented, scope when scopes are required, and resource_metadata so
// that MCP clients find the authorization server.
func Challenge(err *Error, scopes []string, metadataURL string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString("=")
		writeQuoted(&b, value)
		sep = ", "
	}
	if code := err.Code(); code != "" {
		param("error", code)
		if err.Description != "" {
			param("error_description", descriptionChars(err.Description))
		}
	}
	if len(scopes) > 0 {
		param("scope", strings.Join(scopes, " "))
	}
	if metadataURL != "" {
		param("resource_metadata", metadataURL)
	}
	return b.String()
}

// writeQuoted writes an RFC 9110 §5.6.4 quoted-string: quote and backslash
// are escaped, control characters (which no value here should carry, and
// which would break the header) are dropped.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 && c != '\t' || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// descriptionChars maps s into the characters RFC 6750 §3 allows in
// error_description (%x20-21 / %x23-5B / %x5D-7E): no quote, no
// backslash, ASCII only.
func descriptionChars(s string) string {
	out := []byte(s)
	for i, c := range out {
		switch {
		case c == '"':
			out[i] = '\''
		case c == '\\':
			out[i] = '/'
		case c < 0x20 || c > 0x7e:
			out[i] = '?'
		}
	}
	return string(out)
}
