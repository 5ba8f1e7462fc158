package server

import (
	"strings"
	"testing"
)

// The parameters every binary hashes with (passwords.go: about 100 ms and
// 64 MiB per hash). Tests elsewhere hash with cheap ones, so the real ones
// are pinned here, once, at their real cost.
func TestDefaultPasswordParams(t *testing.T) {
	if want := (PasswordParams{Time: 2, MemoryKiB: 64 * 1024, Threads: 1}); DefaultPasswordParams != want {
		t.Fatalf("DefaultPasswordParams = %+v, want %+v", DefaultPasswordParams, want)
	}
	h := NewPasswordHasher(DefaultPasswordParams)
	hash, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=2,p=1$") {
		t.Fatalf("hash = %q, want argon2id m=65536,t=2,p=1", hash)
	}
}
