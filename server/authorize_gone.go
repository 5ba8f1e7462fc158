package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
)

// registrationGonePage tells a person plainly that the application's
// registration expired, naming its client_id, and what to do. The case is
// common: a client registers, the user never finishes signing in, and the
// client (mcp-remote keeps its client_id on disk) comes back days later,
// after dcr.unused_client_ttl removed the registration.
func registrationGonePage(g *dcr.RegistrationGone, oe *oauth.Error) *pageError {
	detail := "The application that sent you here registered with this server as " + g.ClientID +
		" on " + g.IssuedAt.Format("2 January 2006") + ", but that registration is no longer valid."
	if g.UnusedTTL > 0 {
		detail += " Registrations are removed when no sign-in completes within " + humanDuration(g.UnusedTTL)
		if g.IdleTTL > 0 {
			detail += ", or when unused for " + humanDuration(g.IdleTTL)
		}
		detail += "; the application is still using the old one."
	}
	return &pageError{Status: http.StatusBadRequest, Title: "This application's registration has expired",
		Detail: detail,
		Advice: []string{
			"Restart the application (or reconnect it to this server): most applications register again by themselves.",
			"If this page comes back, clear the application's saved sign-in for this server, then connect again. " +
				"For example, mcp-remote keeps it under ~/.mcp-auth; other applications offer a \"clear authentication\" or \"log out\" action.",
			"Nothing is wrong with your account, and no access was granted.",
		},
		OAuth: oe.Code, Description: oe.Description, cause: oe}
}

// humanDuration says a TTL in the unit people use for it.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d == 24*time.Hour:
		return "a day"
	case d >= 2*time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d >= 2*time.Minute:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return d.String()
}

// jsonError is the OAuth JSON form of a page (RFC 6749 §5.2 fields), for
// a client that asked for JSON. The status is 400: nothing was
// authenticated at /authorize, so 401 (which needs an authentication
// scheme to challenge) does not apply.
func (pe *pageError) jsonError() *oauth.Error {
	code := pe.OAuth
	if code == "" {
		code = oauth.ErrCodeInvalidRequest
	}
	desc := pe.Description
	if desc == "" {
		desc = pe.Detail
	}
	status := pe.Status
	if status < 400 || status == http.StatusUnauthorized {
		status = http.StatusBadRequest
	}
	return oauth.New(code, status, "%s", desc)
}

// wantsJSON reports whether an Accept header asks for JSON rather than a
// page: it names application/json (or a +json type) with a non-zero
// quality and does not name text/html. Browsers always list text/html
// when they navigate, so a person is never shown JSON; "*/*" alone gets
// the page.
func wantsJSON(accept []string) bool {
	json := false
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if v, err := strconv.ParseFloat(q, 64); err != nil || !(v > 0) {
					continue // q=0 means "not acceptable" (RFC 9110 §12.4.2)
				}
			}
			switch {
			case mt == "text/html" || mt == "application/xhtml+xml":
				return false
			case mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
				json = true
			}
		}
	}
	return json
}
