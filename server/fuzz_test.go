package server

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturnTo: whatever the input, the result is empty or a path on
// this server under the issuer path, never another origin.
func FuzzSafeReturnTo(f *testing.F) {
	for _, seed := range []string{"/t/authorize?x=1", "//evil", "/t/\\evil", "https://evil/", "/t/%2f%2fevil", "/t/../..//x", "\x00", "/t/\r\nX: y"} {
		f.Add(seed)
	}
	s := &Server{base: "/t"}
	f.Fuzz(func(t *testing.T, raw string) {
		got := s.safeReturnTo(raw)
		if got == "" {
			return
		}
		if got != raw || !strings.HasPrefix(got, "/t/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeReturnTo(%q) = %q", raw, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeReturnTo(%q) = %q resolves off-site", raw, got)
		}
		if abs := mustURL("https://auth.example/").ResolveReference(u); abs.Host != "auth.example" {
			t.Fatalf("%q resolves to host %q", got, abs.Host)
		}
	})
}

// FuzzNormalizeUsername: accepted names are canonical (normalising again
// changes nothing) and use only the allowed characters.
func FuzzNormalizeUsername(f *testing.F) {
	for _, seed := range []string{"alice", "Alice", "a.b@c", "-x", "ǅ", "İstanbul", "K", strings.Repeat("a", 65)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := NormalizeUsername(name)
		if err != nil {
			return
		}
		again, err := NormalizeUsername(n)
		if err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", name, n, again, err)
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789._@+-") != "" || len(n) > MaxUsernameLen {
			t.Fatalf("%q normalised to disallowed %q", name, n)
		}
	})
}

// FuzzDecodeHash: a corrupted stored hash is an error, never a panic or an
// unbounded allocation.
func FuzzDecodeHash(f *testing.F) {
	h := NewPasswordHasher(cheapPasswords)
	good, _ := h.Hash("password")
	f.Add(good)
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=64,t=0,p=0$$")
	f.Fuzz(func(t *testing.T, encoded string) {
		p, _, _, err := decodeHash(encoded)
		if err == nil && (p.MemoryKiB > 4<<20 || p.Time == 0 || p.Threads == 0) {
			t.Fatalf("accepted out-of-range parameters %+v", p)
		}
	})
}
