package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id cost parameters (RFC 9106 §3.1).
type PasswordParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultPasswordParams cost about 100 ms and 64 MiB per hash on one core:
// RFC 9106's second recommended option with t=2. Hashing is serialised by
// PasswordHasher, so concurrent sign-ins cannot exhaust memory.
var DefaultPasswordParams = PasswordParams{Time: 2, MemoryKiB: 64 * 1024, Threads: 1}

const (
	passwordSaltLen = 16
	passwordKeyLen  = 32
	// MinPasswordLen and MaxPasswordLen bound accepted passwords (bytes);
	// the maximum stops a megabyte "password" from being hashed.
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// PasswordHasher hashes and verifies passwords with argon2id, encoded in
// the PHC string format ($argon2id$v=19$m=..,t=..,p=..$salt$hash) so
// parameters can change without invalidating stored hashes.
type PasswordHasher struct {
	params PasswordParams
	// slots bounds concurrent hashes: each holds MemoryKiB of memory.
	slots chan struct{}
	// dummy is verified against when the user does not exist, so an
	// unknown name costs the same time as a wrong password.
	dummy string
	// verifications counts argon2 verifications (tests compare the cost
	// of the unknown-user and wrong-password paths with it).
	verifications atomic.Int64
}

// NewPasswordHasher returns a hasher that runs at most GOMAXPROCS hashes at
// once.
func NewPasswordHasher(p PasswordParams) *PasswordHasher {
	h := &PasswordHasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	dummy, err := h.Hash("gatehouse-dummy-password")
	if err != nil {
		panic(err) // only fails without a random source
	}
	h.dummy = dummy
	return h
}

// ValidatePassword checks a new password against the length rules.
func ValidatePassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Errorf("password must be at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("password must be at most %d bytes", MaxPasswordLen)
	case strings.ContainsRune(pw, 0):
		return errors.New("password must not contain NUL")
	}
	return nil
}

// Hash returns the PHC-encoded argon2id hash of pw with a fresh salt.
func (h *PasswordHasher) Hash(pw string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := h.params
	h.slots <- struct{}{}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, passwordKeyLen)
	<-h.slots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the encoded hash, in constant time.
// It waits for a hashing slot, giving up when ctx ends.
func (h *PasswordHasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	h.verifications.Add(1)
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	<-h.slots
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends the time of one verification and always fails.
func (h *PasswordHasher) VerifyDummy(ctx context.Context, pw string) {
	_, _ = h.Verify(ctx, h.dummy, pw)
}

func decodeHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errors.New("password hash: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errors.New("password hash: bad parameters")
	}
	if p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return p, nil, nil, errors.New("password hash: parameters out of range")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errors.New("password hash: bad salt or key")
	}
	return p, salt, key, nil
}
