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
}

type keyState struct {
	active   jose.JSONWebKey // private
	public   jose.JSONWebKeySet
	jwksJSON []byte
	etag     string
	// atSigner signs access tokens; built once per key, not per token.
	atSigner jose.Signer
}

// LoadKeySet reads the signing keys from the store, creating the first key
// on a fresh installation.
func LoadKeySet(ctx context.Context, st store.KeyStore, now func() time.Time, rnd io.Reader) (*KeySet, error) {
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if !hasActive(keys) {
		if _, err := RotateKey(ctx, st, now(), 0, rnd); err != nil {
			return nil, err
		}
		if keys, err = st.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	ks := &KeySet{}
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
// them, newest first). The newest active key signs from then on.
func (ks *KeySet) Reload(keys []store.SigningKey) error {
	var st keyState
	for _, k := range keys {
		jwk, err := parseSigningKey(k)
		if err != nil {
			return err
		}
		if k.Active() && st.active.Key == nil {
			st.active = jwk
		}
		st.public.Keys = append(st.public.Keys, jwk.Public())
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

// RotateKey generates a new ES256 key and makes it the active one. Keys it
// replaces stay published for publishFor (the longest lifetime of a token
// they signed, plus leeway), then the sweeper removes them.
func RotateKey(ctx context.Context, st store.KeyStore, now time.Time, publishFor time.Duration, rnd io.Reader) (store.SigningKey, error) {
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
	if err := st.RotateSigningKey(ctx, key, now.Add(publishFor+keyLeeway)); err != nil {
		return store.SigningKey{}, fmt.Errorf("store signing key: %w", err)
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

// RotateSigningKey makes a new key active in the running server: the new
// key signs from now on, retired keys stay in the JWKS until every token
// they signed has expired.
func (s *Server) RotateSigningKey(ctx context.Context) (store.SigningKey, error) {
	key, err := RotateKey(ctx, s.store, s.now(), s.cfg.AccessTokenTTL, s.rand)
	if err != nil {
		return key, err
	}
	return key, s.reloadKeys(ctx)
}

// reloadKeys refreshes the in-memory key set from the store (after a
// rotation, or after the sweeper removed keys past their publish window).
func (s *Server) reloadKeys(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	return s.keys.Reload(keys)
}
