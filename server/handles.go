package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strings"
)

// Token prefixes: recognisable to secret scanners, and they tell the
// revocation endpoint which kind of token it holds.
const (
	codePrefix    = "ghc_"
	refreshPrefix = "ghr_"
)

// orderedID returns 64 bits of time (Unix nanoseconds) followed by 64
// random bits, hex-encoded so that string order is time order. Keys like
// these make bbolt append instead of scattering writes over the tree.
func (s *Server) orderedID() (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.now().UnixNano()))
	if _, err := io.ReadFull(s.rand, b[8:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// newHandle mints a bearer token "<prefix><id>.<secret>": the ID locates
// the record, the 256-bit secret proves possession. It returns the token,
// the ID and the hash of the secret to store.
func (s *Server) newHandle(prefix string) (token, id, secretHash string, err error) {
	if id, err = s.orderedID(); err != nil {
		return "", "", "", err
	}
	secret, err := s.newToken()
	if err != nil {
		return "", "", "", err
	}
	return prefix + id + "." + secret, id, hashToken(secret), nil
}

// parseHandle splits a token minted by newHandle. ok is false for anything
// else, which callers treat exactly like an unknown token.
func parseHandle(token, prefix string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, prefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, ".")
	if !found || len(id) != 32 || len(secret) != 43 {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// secretMatches compares a presented secret with a stored hash in
// constant time.
func secretMatches(secret, storedHash string) bool {
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(storedHash)
	return err == nil && subtle.ConstantTimeCompare(sum[:], want) == 1
}
