package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/labstack/echo/v4"
)

// csrfField is the hidden form field carrying the token.
const csrfField = "csrf_token"

// csrfToken returns the token to embed in a form. It is an HMAC of a random
// per-browser cookie under an installation secret (a signed double-submit
// cookie): a cross-site page can neither read the cookie nor compute the
// token. The cookie is created on first use.
func (s *Server) csrfToken(c echo.Context) (string, error) {
	var seed string
	if ck, err := c.Cookie(s.cookieName("csrf")); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		seed = ck.Value
	} else {
		if seed, err = s.newToken(); err != nil {
			return "", err
		}
		// A browser-session cookie: it lives as long as the browser does.
		ck := s.newCookie("csrf", seed, 0)
		c.SetCookie(ck)
	}
	return s.csrfMAC(seed), nil
}

func (s *Server) csrfMAC(seed string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("gatehouse csrf v1\x00"))
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid checks the submitted form token against the cookie.
func (s *Server) csrfValid(c echo.Context) bool {
	ck, err := c.Cookie(s.cookieName("csrf"))
	if err != nil || ck.Value == "" {
		return false
	}
	got := c.Request().PostForm.Get(csrfField)
	return hmac.Equal([]byte(got), []byte(s.csrfMAC(ck.Value)))
}
