package server

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// postForm parses an application/x-www-form-urlencoded body and returns its
// parameters, refusing any parameter that appears more than once
// (RFC 6749 §3.1: "Request and response parameters MUST NOT be included
// more than once") except those named in repeatable. Query parameters are
// never merged in.
func postForm(c echo.Context, repeatable ...string) (url.Values, error) {
	r := c.Request()
	if r.Method != http.MethodPost {
		return nil, oauth.New(oauth.ErrCodeMethodNotAllowed, http.StatusMethodNotAllowed, "use POST")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationForm {
		return nil, oauth.New(oauth.ErrCodeInvalidRequest, http.StatusUnsupportedMediaType,
			"the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, oauth.New(oauth.ErrCodeInvalidRequest, http.StatusRequestEntityTooLarge, "request body too large")
		}
		return nil, oauth.InvalidRequest("the body is not a valid form").WithCause(err)
	}
	if err := noRepeats(r.PostForm, repeatable...); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// noRepeats refuses repeated parameters. Callers that allow a repeated
// parameter (resource, RFC 8707 §2) read it before calling this on the rest.
func noRepeats(v url.Values, allowed ...string) error {
	var repeated []string
	for k, vals := range v {
		if len(vals) > 1 && !contains(allowed, k) {
			repeated = append(repeated, k)
		}
	}
	if len(repeated) == 0 {
		return nil
	}
	sort.Strings(repeated)
	return oauth.InvalidRequest("parameter %q is repeated", repeated[0])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
