package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// The sign-in detour (OAuth 2.1 §4.1.1: the authorization server
// authenticates the user, then continues the request). An ordinary
// request travels in the return_to URL of the sign-in page, which costs
// nothing and works on any instance. A request too long for that (a
// state of several KB, as some clients and conformance suites send) is
// kept in the store under a short random handle, and the sign-in page
// returns to /authorize?pending=<handle>; any instance on the same
// database resumes it. A request longer than maxAuthorizeRequest is
// refused before anything else.
const (
	// maxAuthorizeRequest bounds an authorization request, in bytes of
	// its form encoding.
	maxAuthorizeRequest = 16 << 10
	// maxURLReturn is the longest return_to that travels in URLs: the
	// sign-in page's address, its form, and an upstream sign-in's state
	// cookie (browsers keep cookies to 4 KB) all carry it.
	maxURLReturn = 2 << 10
	// pendingTTL is how long a pending request waits for the sign-in
	// (an upstream provider with multi-factor sign-in included).
	pendingTTL = 15 * time.Minute
	// pendingParam is the parameter that names a pending request.
	pendingParam = "pending"
	// maxSafeReturnTo is the longest return_to the sign-in page accepts.
	maxSafeReturnTo = 8 << 10
)

// pendingLimits bound how fast one address, and everyone, can make
// Gatehouse store pending requests (each up to maxAuthorizeRequest bytes
// for pendingTTL). Past them, a request that fits in a URL still travels
// in the URL; only one that does not is refused (429).
var pendingLimits = RegisterLimits{PerIPPerMinute: 30, GlobalPerSecond: 100}

// checkRequestSize refuses an authorization request too large to accept,
// up front, with a page (or its JSON form) that says so.
func checkRequestSize(params url.Values) error {
	if n := len(params.Encode()); n > maxAuthorizeRequest {
		return &pageError{Status: http.StatusRequestEntityTooLarge, Title: "Sign-in request too large",
			Detail: "The application sent a sign-in request of " + strconv.Itoa(n) + " bytes; this server accepts at most " +
				strconv.Itoa(maxAuthorizeRequest) + ". The application must send a shorter request (most often a shorter state).",
			OAuth: oauth.ErrCodeInvalidRequest, Description: "the authorization request is larger than " + strconv.Itoa(maxAuthorizeRequest) + " bytes"}
	}
	return nil
}

// resumePending replaces a request that only names a pending request
// (pending=<handle>, alone) with the stored one. Any other request is
// returned as is: a client's own parameter named pending is not ours.
func (s *Server) resumePending(ctx context.Context, params url.Values) (url.Values, string, error) {
	if len(params) != 1 || len(params[pendingParam]) != 1 {
		return params, "", nil
	}
	id := params.Get(pendingParam)
	p, err := s.store.PendingRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.metrics.pendingRequest("expired")
		return nil, "", &pageError{Status: http.StatusBadRequest, Title: "Sign-in request expired",
			Detail:      "This sign-in request is no longer here: it waited more than " + humanDuration(pendingTTL) + " for you to sign in.",
			Advice:      []string{"Return to the application and start signing in again."},
			OAuth:       oauth.ErrCodeInvalidRequest,
			Description: "the pending authorization request is unknown or expired"}
	}
	if err != nil {
		return nil, "", err
	}
	resumed, err := url.ParseQuery(p.Params)
	if err != nil {
		return nil, "", err
	}
	s.metrics.pendingRequest("resumed")
	return resumed, id, nil
}

// returnToAuthorize is where the sign-in page sends the browser back:
// the request itself when it fits in a URL, else a stored pending
// request's handle (reused when back is the stored request unchanged).
func (s *Server) returnToAuthorize(c echo.Context, req *authzRequest, back url.Values, unchanged bool) (string, error) {
	inURL, fits := urlReturnTo(s.base, back)
	if fits {
		return inURL, nil
	}
	if req.pendingID != "" && unchanged {
		return s.base + authorizePath + "?" + pendingParam + "=" + req.pendingID, nil
	}
	ip := c.RealIP()
	if ok, wait := s.pendingLimiter.allow(policy.AddressKey(ip), s.now()); !ok {
		s.metrics.pendingRequest("throttled")
		requestLogger(c, s.log).Warn("pending authorization requests throttled", "ip", ip, "retry_after", wait)
		if len(inURL) <= maxSafeReturnTo {
			return inURL, nil // still fits the sign-in page's own limit
		}
		return "", &pageError{Status: http.StatusTooManyRequests, Title: "Please wait",
			Detail:     "Too many sign-in requests came from your network. Try again in " + humanWait(wait) + ".",
			OAuth:      oauth.ErrCodeTemporarilyUnavailable,
			RetryAfter: int(wait.Seconds() + 0.999)}
	}
	id, err := s.newID()
	if err != nil {
		return "", err
	}
	now := s.now()
	p := store.PendingRequest{ID: id, ClientID: req.Client.ID, Params: back.Encode(), CreatedAt: now, ExpiresAt: now.Add(pendingTTL)}
	if err := s.store.CreatePendingRequest(c.Request().Context(), p); err != nil {
		return "", err
	}
	s.metrics.pendingRequest("stored")
	if unchanged {
		req.pendingID = id
	}
	return s.base + authorizePath + "?" + pendingParam + "=" + id, nil
}

// urlReturnTo is the return_to that carries back in the URL, and whether
// it is short enough to (maxURLReturn).
func urlReturnTo(base string, back url.Values) (string, bool) {
	u := base + authorizePath + "?" + back.Encode()
	return u, len(u) <= maxURLReturn
}

// consentRequest is what the consent form carries back: the handle of a
// pending request, or the request itself.
func consentRequest(req *authzRequest) string {
	if req.pendingID != "" {
		return url.Values{pendingParam: {req.pendingID}}.Encode()
	}
	return req.params.Encode()
}
