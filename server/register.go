package server

import (
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

const registerPath = "/register"

// RegisterLimits bound the registration endpoint.
type RegisterLimits struct {
	// PerIPPerMinute registrations from one client address (burst the same).
	PerIPPerMinute int
	// GlobalPerSecond registrations in all (burst twice that).
	GlobalPerSecond int
	// MaxBody caps a registration body, in bytes.
	MaxBody int64
}

// registrationLimiter throttles registrations per client address (keyed
// by policy.AddressKey) and globally.
type registrationLimiter struct {
	mu     sync.Mutex
	perIP  map[string]*rate.Limiter
	ipRate rate.Limit
	ipN    int
	global *rate.Limiter
}

func newRegistrationLimiter(l RegisterLimits) *registrationLimiter {
	// A limiter starts with a full bucket of its initial burst (SetBurst
	// does not refill), so the global one is created with the real limits.
	r := &registrationLimiter{perIP: map[string]*rate.Limiter{},
		global: rate.NewLimiter(rate.Limit(l.GlobalPerSecond), 2*l.GlobalPerSecond)}
	r.reconfigure(l)
	return r
}

// reconfigure applies new limits (a hot reload); current buckets keep
// their tokens.
func (r *registrationLimiter) reconfigure(l RegisterLimits) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ipRate, r.ipN = rate.Limit(float64(l.PerIPPerMinute)/60), l.PerIPPerMinute
	for _, ipl := range r.perIP {
		ipl.SetLimit(r.ipRate)
		ipl.SetBurst(r.ipN)
	}
	r.global.SetLimit(rate.Limit(l.GlobalPerSecond))
	r.global.SetBurst(2 * l.GlobalPerSecond)
}

// allow takes one token for ipKey and one globally, or says how long to
// wait.
func (r *registrationLimiter) allow(ipKey string, now time.Time) (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.perIP[ipKey]
	if !ok {
		if len(r.perIP) >= maxLimiterKeys {
			return false, time.Minute
		}
		l = rate.NewLimiter(r.ipRate, r.ipN)
		r.perIP[ipKey] = l
	}
	if l.TokensAt(now) < 1 {
		return false, waitFor(l, now)
	}
	if r.global.TokensAt(now) < 1 {
		return false, waitFor(r.global, now)
	}
	l.AllowN(now, 1)
	r.global.AllowN(now, 1)
	return true, 0
}

func waitFor(l *rate.Limiter, now time.Time) time.Duration {
	secs := (1 - l.TokensAt(now)) / float64(l.Limit())
	return time.Duration(math.Ceil(secs)) * time.Second
}

func (r *registrationLimiter) cleanup(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ip, l := range r.perIP {
		if l.TokensAt(now) >= float64(r.ipN) {
			delete(r.perIP, ip)
		}
	}
}

// handleRegister is the RFC 7591 registration endpoint.
func (s *Server) handleRegister(c echo.Context) error {
	noStore(c)
	ip := c.RealIP()
	// Counted per policy.AddressKey: an IPv6 host holds a whole /64, one
	// subnet (RFC 4291 §2.5.4), and could otherwise rotate through it.
	if ok, wait := s.regLimiter.allow(policy.AddressKey(ip), s.now()); !ok {
		requestLogger(c, s.log).Warn("registration throttled", "ip", ip, "retry_after", wait)
		return oauth.TooManyRequests(int(wait.Seconds()), "too many registrations; retry later")
	}
	body, err := s.registrationBody(c)
	if err != nil {
		return err
	}
	info, err := s.registration.Register(c.Request().Context(), body, ip, dcr.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization)))
	if err != nil {
		return s.bearerChallenge(c, err)
	}
	Audit(c.Request().Context(), requestLogger(c, s.log), AuditClientRegistered, "client_id", info.ClientID,
		"client_name", info.ClientName, "auth_method", info.TokenEndpointAuthMethod, "ip", ip, "narrowed", narrowedText(info.Narrowed))
	return c.JSON(http.StatusCreated, info)
}

// handleRegistration serves RFC 7592 read, update and delete.
func (s *Server) handleRegistration(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	id := c.Param("client_id")
	rat := dcr.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
	log := requestLogger(c, s.log)
	switch c.Request().Method {
	case http.MethodGet:
		info, err := s.registration.Read(ctx, id, rat)
		if err != nil {
			return s.bearerChallenge(c, err)
		}
		return c.JSON(http.StatusOK, info)
	case http.MethodPut:
		body, err := s.registrationBody(c)
		if err != nil {
			return err
		}
		info, err := s.registration.Update(ctx, id, rat, body)
		if err != nil {
			return s.bearerChallenge(c, err)
		}
		if info.ClientID != id {
			// A shared client is never changed for the others: the caller
			// got a registration of its own (dcr.Service.fork).
			Audit(ctx, log, AuditClientRegistered, "client_id", info.ClientID, "forked_from", id,
				"reason", "update of a shared client", "ip", c.RealIP(), "narrowed", narrowedText(info.Narrowed))
			return c.JSON(http.StatusOK, info)
		}
		Audit(ctx, log, AuditClientUpdated, "client_id", id, "by", "registration_access_token", "narrowed", narrowedText(info.Narrowed))
		return c.JSON(http.StatusOK, info)
	default: // DELETE
		handleOnly, err := s.registration.Delete(ctx, id, rat)
		if err != nil {
			return s.bearerChallenge(c, err)
		}
		if handleOnly {
			Audit(ctx, log, AuditClientDeleted, "client_id", id, "by", "registration_access_token",
				"scope", "the caller's handle only: the client is shared")
			return c.NoContent(http.StatusNoContent)
		}
		Audit(ctx, log, AuditClientDeleted, "client_id", id, "by", "registration_access_token")
		return c.NoContent(http.StatusNoContent)
	}
}

// registrationBody reads a JSON body within the registration cap.
func (s *Server) registrationBody(c echo.Context) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return nil, oauth.New(oauth.ErrCodeInvalidClientMetadata, http.StatusUnsupportedMediaType, "the body must be application/json (RFC 7591 §3)")
	}
	limit := s.policy().register.MaxBody
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(body)) > limit {
		return nil, oauth.New(oauth.ErrCodeInvalidRequest, http.StatusRequestEntityTooLarge, "the registration body is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, oauth.InvalidClientMetadata("the registration body could not be read").WithCause(err)
	}
	return body, nil
}

// bearerChallenge adds WWW-Authenticate for token failures (RFC 6750 §3).
func (s *Server) bearerChallenge(c echo.Context, err error) error {
	if dcr.IsInvalidToken(err) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	return err
}

// recordTokenActivity keeps a registered client from expiring while it is
// used. Failing to record is logged, never fatal to the token response.
func (s *Server) recordTokenActivity(c echo.Context, client *oauth.Client) {
	if client.Kind != oauth.ClientDCR || s.registration == nil {
		return
	}
	if err := s.registration.RecordToken(c.Request().Context(), client.ID); err != nil {
		requestLogger(c, s.log).Warn("record client activity", "client_id", client.ID, "err", err)
	}
}

// narrowedText renders the values a registration had dropped for the
// audit log (policy.Narrowing; the response shows what is in force), ""
// when nothing was.
func narrowedText(ns []policy.Narrowing) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, "; ")
}
