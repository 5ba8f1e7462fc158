package server

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/store"
)

// SigningAlgorithm is the JWS algorithm of every token Gatehouse signs.
const SigningAlgorithm = jose.ES256

// keyLeeway is added to the access-token lifetime when deciding how long a
// retired key stays published: resource servers allow this much clock skew.
const keyLeeway = 5 * time.Minute

// KeySet holds the parsed signing keys in memory: the active private key
// and the public JWKS, with the JWKS document pre-encoded. Keys are never
// parsed per request.
type KeySet struct {
	state atomic.Pointer[keyState]
	now   func() time.Time
}

type keyState struct {
	active   jose.JSONWebKey // private
	public   jose.JSONWebKeySet
	jwksJSON []byte
	etag     string
	// atSigner signs access tokens; built once per key, not per token.
	atSigner jose.Signer
	// nextChange is the next time a key starts or stops signing (zero:
	// none pending), when the set must be reloaded.
	nextChange time.Time
}

// LoadKeySet reads the signing keys from the store, creating the first key
// on a fresh installation.
func LoadKeySet(ctx context.Context, st store.KeyStore, now func() time.Time, rnd io.Reader) (*KeySet, error) {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if !hasActive(keys) {
		// Instances starting together on an empty database must not each
		// sign with a key of their own that the others do not publish
		// yet: the store keeps the first key created and refuses the rest.
		first, err := newSigningKey(now(), 0, rnd)
		if err != nil {
			return nil, err
		}
		if _, err := st.CreateFirstSigningKey(ctx, first); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
		if keys, err = st.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	ks := &KeySet{now: now}
	return ks, ks.Reload(keys)
}

func hasActive(keys []store.SigningKey) bool {
	for _, k := range keys {
		if k.Active() {
			return true
		}
	}
	return false
}

// Reload replaces the in-memory keys with keys (as SigningKeys returns
// them, newest first). Every key is published; the newest key that signs
// now (store.SigningKey.SignsAt) signs from then on. If none does yet (a
// clock behind the one that created the keys), the unretired key that
// activates first signs.
func (ks *KeySet) Reload(keys []store.SigningKey) error {
	now := time.Now()
	if ks.now != nil {
		now = ks.now()
	}
	var st keyState
	var fallback *store.SigningKey
	var fallbackJWK jose.JSONWebKey
	for i, k := range keys {
		jwk, err := parseSigningKey(k)
		if err != nil {
			return err
		}
		if k.SignsAt(now) && st.active.Key == nil {
			st.active = jwk
		}
		if (k.RetiredAt.IsZero() || now.Before(k.RetiredAt)) && (fallback == nil || k.Activation().Before(fallback.Activation())) {
			fallback, fallbackJWK = &keys[i], jwk
		}
		for _, t := range []time.Time{k.Activation(), k.RetiredAt} {
			if t.After(now) && (st.nextChange.IsZero() || t.Before(st.nextChange)) {
				st.nextChange = t
			}
		}
		st.public.Keys = append(st.public.Keys, jwk.Public())
	}
	if st.active.Key == nil && fallback != nil {
		st.active = fallbackJWK
	}
	if st.active.Key == nil {
		return errors.New("no active signing key")
	}
	doc, err := json.Marshal(st.public)
	if err != nil {
		return err
	}
	if st.atSigner, err = newSigner(st.active, "at+jwt"); err != nil {
		return err
	}
	sum := sha256.Sum256(doc)
	st.jwksJSON = doc
	st.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	ks.state.Store(&st)
	return nil
}

// NextChange is when a published key starts signing or the signing key
// retires (zero: nothing pending): the set must be reloaded then.
func (ks *KeySet) NextChange() time.Time { return ks.state.Load().nextChange }

// ActiveKeyID is the kid of the key that signs new tokens.
func (ks *KeySet) ActiveKeyID() string { return ks.state.Load().active.KeyID }

// Public is the published key set, including retired keys still in use.
func (ks *KeySet) Public() jose.JSONWebKeySet { return ks.state.Load().public }

// Signer returns a signer with the active key that sets the JOSE "typ"
// header to typ.
func (ks *KeySet) Signer(typ string) (jose.Signer, error) {
	return newSigner(ks.state.Load().active, typ)
}

// AccessTokenSigner signs with the active key and typ "at+jwt"
// (RFC 9068 §2.1).
func (ks *KeySet) AccessTokenSigner() jose.Signer { return ks.state.Load().atSigner }

func newSigner(key jose.JSONWebKey, typ string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	return jose.NewSigner(jose.SigningKey{Algorithm: SigningAlgorithm, Key: key}, opts)
}

func parseSigningKey(k store.SigningKey) (jose.JSONWebKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s: not a P-256 key", k.ID)
	}
	return jose.JSONWebKey{Key: ec, KeyID: k.ID, Algorithm: string(SigningAlgorithm), Use: "sig"}, nil
}

// RotateKey generates a new ES256 key, published at once and signing from
// now + ahead (0: at once). The keys it replaces sign until then and stay
// published for publishFor after it (the longest lifetime of a token they
// signed, plus leeway); then the sweeper removes them.
func RotateKey(ctx context.Context, st store.KeyStore, now time.Time, publishFor, ahead time.Duration, rnd io.Reader) (store.SigningKey, error) {
	key, err := newSigningKey(now, ahead, rnd)
	if err != nil {
		return key, err
	}
	if err := st.RotateSigningKey(ctx, key, key.Activation().Add(publishFor+keyLeeway)); err != nil {
		return store.SigningKey{}, fmt.Errorf("store signing key: %w", err)
	}
	return key, nil
}

// newSigningKey generates an ES256 key named by its RFC 7638 thumbprint,
// signing from now + ahead (0: at once).
func newSigningKey(now time.Time, ahead time.Duration, rnd io.Reader) (store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid, err := Thumbprint(&priv.PublicKey)
	if err != nil {
		return store.SigningKey{}, err
	}
	key := store.SigningKey{ID: kid, Algorithm: string(SigningAlgorithm), PrivateKey: der, CreatedAt: now}
	if ahead > 0 {
		key.ActivatesAt = now.Add(ahead)
	}
	return key, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) used as
// the key ID.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// RotateSigningKey rotates a new key in: published at once, signing after
// Config.KeyPublishAhead (at once when it is 0, as on one instance), by
// which time every instance sharing the store has it in its JWKS. Retired
// keys stay in the JWKS until every token they signed has expired. The
// other instances are told (store.EventKeys) to reload.
func (s *Server) RotateSigningKey(ctx context.Context) (store.SigningKey, error) {
	key, err := RotateKey(ctx, s.store, s.now(), s.cfg.AccessTokenTTL, s.cfg.KeyPublishAhead, s.rand)
	if err != nil {
		return key, err
	}
	s.announce(ctx, store.Event{Kind: store.EventKeys, Key: key.ID})
	return key, s.reloadKeys(ctx)
}

// ReloadKeys refreshes the in-memory key set from the store (another
// instance rotated, or a published key's activation came).
func (s *Server) ReloadKeys(ctx context.Context) error { return s.reloadKeys(ctx) }

// reloadKeys refreshes the in-memory key set from the store (after a
// rotation, or after the sweeper removed keys past their publish window).
func (s *Server) reloadKeys(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	return s.keys.Reload(keys)
}
