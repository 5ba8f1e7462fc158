package pgstore

import (
	"regexp"
	"runtime"
)

// Masked replaces a password in shown connection strings.
const Masked = "********"

var (
	// urlPassword: the userinfo password of a postgres:// URL, up to the
	// last @ before whitespace (masking too much beats leaking a password
	// with an unescaped @ in it).
	urlPassword = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:@/\s]*:)\S*@`)
	// dsnPassword: password=… in a key=value DSN or a URL's query.
	dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]+)`)
)

// RedactURL returns s with any password masked: the userinfo password of a
// postgres:// URL, a password query parameter, and password=… in a
// key=value DSN, also inside longer text such as an error message.
func RedactURL(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+Masked+"@")
	return dsnPassword.ReplaceAllString(s, "${1}"+Masked)
}

// DefaultMaxConns is the pool size when store.postgres.max_conns is 0:
// enough connections that requests blocked on row locks do not starve the
// others, few enough that ten instances stay under PostgreSQL's default
// max_connections of 100.
func DefaultMaxConns() int32 {
	return int32(max(8, min(4*runtime.GOMAXPROCS(0), 32)))
}
