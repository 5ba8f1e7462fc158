package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// upstreamStateTTL bounds a sign-in at an upstream provider: the browser
// must come back within it.
const upstreamStateTTL = 10 * time.Minute

// upstreamState is what binds an upstream sign-in to this browser: the
// state the callback must echo, the nonce the ID token must carry, the
// PKCE verifier, and where to continue. It travels in an HttpOnly cookie,
// MACed under the installation secret, so the callback trusts only what
// this server put there (OIDC Core §3.1.2.1 state and nonce, RFC 9700
// §4.7.1 CSRF protection with state bound to the user agent).
type upstreamState struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r,omitempty"`
	Expires  int64  `json:"e"`
}

func (s *Server) upstreamMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("gatehouse upstream state v1\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

// setUpstreamState stores st in the browser. SameSite=Lax: the callback is
// a top-level GET navigation from the upstream, which Lax cookies follow.
func (s *Server) setUpstreamState(c echo.Context, st upstreamState) error {
	payload, err := json.Marshal(st)
	if err != nil {
		return err
	}
	v := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.upstreamMAC(payload))
	c.SetCookie(s.newCookie("upstream", v, upstreamStateTTL))
	return nil
}

var errNoUpstreamState = errors.New("no sign-in in progress in this browser")

// takeUpstreamState reads and clears the browser's upstream state: one
// callback per sign-in attempt.
func (s *Server) takeUpstreamState(c echo.Context) (upstreamState, error) {
	var st upstreamState
	ck, err := c.Cookie(s.cookieName("upstream"))
	if err != nil || ck.Value == "" || len(ck.Value) > 4096 {
		return st, errNoUpstreamState
	}
	c.SetCookie(s.newCookie("upstream", "", -time.Second))
	body, mac, ok := strings.Cut(ck.Value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sum, s.upstreamMAC(payload)) {
		return st, errNoUpstreamState
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return st, errNoUpstreamState
	}
	if s.now().Unix() > st.Expires {
		return st, errors.New("the sign-in took too long")
	}
	return st, nil
}
