package dcr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// TestRegistrationGone: a client_id this service issued whose registration
// expired resolves to invalid_client with a RegistrationGone cause that
// names it, its issue time and the lifetimes; anything else that is not
// registered is plainly unknown.
func TestRegistrationGone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	issued := e.clock.Now()
	info, err := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResolveClient(ctx, info.ClientID); err != nil {
		t.Fatalf("fresh client: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	_, err = e.svc.ResolveClient(ctx, info.ClientID)
	var gone *RegistrationGone
	if oauth.Code(err) != oauth.ErrCodeInvalidClient || !errors.As(err, &gone) {
		t.Fatalf("expired client: %v; want invalid_client caused by RegistrationGone", err)
	}
	if gone.ClientID != info.ClientID || !gone.IssuedAt.Equal(issued) || gone.UnusedTTL != 24*time.Hour || gone.IdleTTL != 90*24*time.Hour {
		t.Fatalf("RegistrationGone = %+v; want %s issued %v", gone, info.ClientID, issued)
	}
	// Not ours, or not possibly ours: unknown, without the cause.
	future := "dcr_" + sortableBase32.EncodeToString(append(beUint64(uint64(e.clock.Now().Add(time.Hour).UnixNano())), make([]byte, 12)...))
	for _, id := range []string{"dcr_nope", "dcr_" + strings.Repeat("0", 32), future, "other"} {
		_, err := e.svc.ResolveClient(ctx, id)
		if oauth.Code(err) != oauth.ErrCodeInvalidClient || errors.As(err, &gone) {
			t.Errorf("%q: %v; want a plain unknown client", id, err)
		}
	}
}

func beUint64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

// TestIssuedAt reads the time newClientID writes, and nothing else.
func TestIssuedAt(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 123, time.UTC)
	id, err := e.svc.newClientID(now)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := IssuedAt(id); !ok || !got.Equal(now) {
		t.Fatalf("IssuedAt(%s) = %v, %v; want %v", id, got, ok, now)
	}
	for _, id := range []string{
		"", "dcr_", id[:len(id)-1], id + "0", strings.ToUpper(id), "DCR_" + id[4:], "xyz_" + id[4:],
		"dcr_" + strings.Repeat("w", 32),     // outside the alphabet
		"dcr_" + strings.Repeat("0", 32),     // 1970
		"dcr_" + strings.Repeat("v", 32),     // negative nanoseconds
		"dcr_" + strings.Repeat("é", 16),     // not ASCII
		"dcr_" + id[4:20] + "\x00" + id[21:], // a NUL inside
	} {
		if got, ok := IssuedAt(id); ok {
			t.Errorf("IssuedAt(%q) = %v, true; want false", id, got)
		}
	}
}

// FuzzIssuedAt: whatever the string, IssuedAt either refuses it or returns
// a time after 2020 that re-encodes to the same client_id prefix.
func FuzzIssuedAt(f *testing.F) {
	f.Add("dcr_1898b5d9b3d68000f7c2f1ea83a45592")
	f.Add("dcr_" + strings.Repeat("0", 32))
	f.Add("dcr_33mbglctjuh1tccunmucqtlbnouc7f21")
	f.Fuzz(func(t *testing.T, id string) {
		got, ok := IssuedAt(id)
		if !ok {
			return
		}
		b, err := sortableBase32.DecodeString(strings.TrimPrefix(id, clientIDPrefix))
		if err != nil || got.Year() < 2020 || got.UnixNano() != int64(beToUint64(b[:8])) {
			t.Fatalf("IssuedAt(%q) = %v", id, got)
		}
	})
}

func beToUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
