package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Trusted devices (OWASP's "device cookies" against slow, distributed
// guessing). The per-account slowdown queues every password check of an
// account under attack, the user's too: a guesser with a few dozen
// addresses, each well within its own allowance, can keep the queue full
// (one guess per login.account_slowdown), and then every other attempt is
// told to come back later. A guesser sharing the user's address (a NAT, a
// campus) can use up that address's allowance as well. So a browser that
// has signed in to an account with its password gets a cookie, MACed
// under the installation secret, naming the account. Later sign-ins to
// that account from that browser skip the per-address limits and the
// slowdown. The cookie has an allowance of its own,
// login.max_failures_per_account_ip failures per login.failure_window,
// counted in the store (shared by every instance) and held in memory
// while checks are in flight, so a stolen cookie is worth one address's
// guesses, not a way round the limits.

// deviceCookie is what a trusted-device cookie carries.
type deviceCookie struct {
	Account string `json:"a"`
	ID      string `json:"i"`
	Expires int64  `json:"e"`
}

// maxDeviceCookieLen bounds what is parsed from a browser.
const maxDeviceCookieLen = 512

func deviceMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse trusted device v1\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

// encodeDeviceCookie returns the cookie value for d: the payload and its
// MAC, each base64url.
func encodeDeviceCookie(key []byte, d deviceCookie) string {
	payload, _ := json.Marshal(d)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(deviceMAC(key, payload))
}

// parseDeviceCookie checks a cookie value from a browser: the MAC, then
// the expiry at now. Anything malformed, forged or expired is !ok.
func parseDeviceCookie(key []byte, value string, now time.Time) (deviceCookie, bool) {
	var d deviceCookie
	if value == "" || len(value) > maxDeviceCookieLen {
		return d, false
	}
	body, mac, found := strings.Cut(value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if !found || err1 != nil || err2 != nil || !hmac.Equal(sum, deviceMAC(key, payload)) {
		return d, false
	}
	if json.Unmarshal(payload, &d) != nil || d.Account == "" || d.ID == "" || now.Unix() >= d.Expires {
		return deviceCookie{}, false
	}
	return d, true
}

// deviceFailureKey is the store key of a device's failure count. Login
// names cannot contain ':' once normalised, and the ID is secret, so no
// typed name reaches another device's count.
func deviceFailureKey(id string) string { return "device:" + id }

// trustedDevice returns the browser's trusted-device cookie when it names
// account (as normalised) and still has allowance left; ok is false for
// no cookie, a forged or expired one, another account's, or one whose
// failures used up its allowance (audited: the cookie may be stolen).
func (s *Server) trustedDevice(c echo.Context, log *slog.Logger, account string) (deviceCookie, bool) {
	lim := s.cfg.Login
	if lim.TrustedDeviceTTL <= 0 {
		return deviceCookie{}, false
	}
	ck, err := c.Cookie(s.cookieName("device"))
	if err != nil {
		return deviceCookie{}, false
	}
	d, ok := parseDeviceCookie(s.deviceKey, ck.Value, s.now())
	if norm, err := NormalizeUsername(account); !ok || err != nil || d.Account != norm {
		return deviceCookie{}, false
	}
	ctx := c.Request().Context()
	level, err := s.loginFailures.LoginFailureLevel(ctx, deviceFailureKey(d.ID), s.now(), lim.deviceLeak())
	if err != nil {
		log.Error("read the trusted device's sign-in failures", "username", account, "err", err)
		return deviceCookie{}, false
	}
	if level >= float64(lim.MaxFailuresAccountIP) {
		s.metrics.trustedDevice("exhausted")
		Audit(ctx, log, AuditLoginTrustedDevice, "username", account, "ip", c.RealIP(), "outcome", "exhausted",
			"reason", "the browser's trusted-device cookie used up its failure allowance; it is treated as any browser")
		return deviceCookie{}, false
	}
	return d, true
}

// recordDeviceFailure counts a wrong password sent with a trusted-device
// cookie against that cookie's allowance.
func (s *Server) recordDeviceFailure(c echo.Context, log *slog.Logger, d deviceCookie) {
	lim := s.cfg.Login
	if _, err := s.loginFailures.AddLoginFailure(c.Request().Context(), deviceFailureKey(d.ID), s.now(), lim.deviceLeak()); err != nil {
		log.Error("record the trusted device's sign-in failure", "username", d.Account, "err", err)
	}
}

// trustBrowser gives the browser a trusted-device cookie for the account
// it just signed in to with its password. A cookie it already holds for
// that account keeps its ID, and with it its failure count.
func (s *Server) trustBrowser(c echo.Context, account string, held deviceCookie, holds bool) error {
	ttl := s.cfg.Login.TrustedDeviceTTL
	if ttl <= 0 {
		return nil
	}
	d := deviceCookie{Account: account, ID: held.ID, Expires: s.now().Add(ttl).Unix()}
	if !holds || held.Account != account {
		id, err := s.newToken()
		if err != nil {
			return err
		}
		d.ID = id[:22] // 132 bits
	}
	c.SetCookie(s.newCookie("device", encodeDeviceCookie(s.deviceKey, d), ttl))
	s.metrics.trustedDevice("issued")
	return nil
}
