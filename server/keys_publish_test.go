package server

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

// A key rotated in with a publish-ahead period is in the JWKS at once but
// signs only from its activation; the key set knows when to reload.
func TestKeyPublishedAheadSignsAtActivation(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks, err := LoadKeySet(ctx, st, clock.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	first := ks.ActiveKeyID()
	next, err := RotateKey(ctx, st, clock.Now(), 10*time.Minute, time.Minute, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reload := func() {
		t.Helper()
		keys, err := st.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.Reload(keys); err != nil {
			t.Fatal(err)
		}
	}
	reload()
	kids := func() []string {
		var out []string
		for _, k := range ks.Public().Keys {
			out = append(out, k.KeyID)
		}
		return out
	}
	if ks.ActiveKeyID() != first || !slices.Contains(kids(), next.ID) {
		t.Fatalf("before activation: signing %s with JWKS %v; want %s signing and %s published", ks.ActiveKeyID(), kids(), first, next.ID)
	}
	if !ks.NextChange().Equal(next.ActivatesAt) {
		t.Fatalf("NextChange = %v, want the activation %v", ks.NextChange(), next.ActivatesAt)
	}
	if kid := signedWith(t, ks); kid != first {
		t.Fatalf("signed with %s, want %s", kid, first)
	}
	clock.Advance(time.Minute)
	reload()
	if ks.ActiveKeyID() != next.ID || !slices.Contains(kids(), first) {
		t.Fatalf("after activation: signing %s with JWKS %v; want %s signing and %s still published", ks.ActiveKeyID(), kids(), next.ID, first)
	}
	if kid := signedWith(t, ks); kid != next.ID {
		t.Fatalf("signed with %s after activation, want %s", kid, next.ID)
	}
	if !ks.NextChange().IsZero() {
		t.Fatalf("NextChange after activation = %v, want none", ks.NextChange())
	}
}

// signedWith signs a payload with the access token signer and returns the
// kid in the JWS header.
func signedWith(t *testing.T, ks *KeySet) string {
	t.Helper()
	sig, err := ks.AccessTokenSigner().Sign([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := sig.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{SigningAlgorithm})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Signatures[0].Header.KeyID
}
