package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// exportTables maps each exported kind to its table and a decoder of one
// stored record into the kind's value type.
var exportTables = []struct {
	kind   store.RecordKind
	table  *table
	decode func(tx *bolt.Tx, key, body []byte, exp uint64) (any, error)
}{
	{store.KindSigningKey, keysTable, decodeAs[store.SigningKey]},
	{store.KindUser, usersTable, decodeAs[store.User]},
	{store.KindIdentity, identitiesTable, decodeAs[store.Identity]},
	{store.KindSession, sessionsTable, decodeAs[store.Session]},
	{store.KindClient, clientsTable, decodeAs[store.RegisteredClient]},
	{store.KindInitialToken, iatTable, decodeAs[store.InitialAccessToken]},
	{store.KindGrant, grantsTable, decodeAs[store.Grant]},
	{store.KindRefreshToken, refreshTable, decodeAs[store.RefreshToken]},
	{store.KindCode, codesTable, decodeAs[store.AuthCode]},
	{store.KindConsent, consentsTable, decodeAs[store.Consent]},
	{store.KindRevokedToken, revokedTable, decodeAs[store.IssuedToken]},
	{store.KindAssertionID, assertionsTable, func(_ *bolt.Tx, key, _ []byte, exp uint64) (any, error) {
		client, jti, ok := bytes.Cut(key, []byte{0})
		if !ok {
			return nil, fmt.Errorf("assertion id key %q", key)
		}
		return store.AssertionID{ClientID: string(client), JTI: string(jti), ExpiresAt: fromNanos(exp)}, nil
	}},
	{store.KindApproval, approvalsTable, decodeAs[store.ClientApproval]},
}

func decodeAs[T any](_ *bolt.Tx, _, body []byte, _ uint64) (any, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Export calls emit for every live record (expired ones are left behind,
// as the sweeper would remove them), kind by kind in store.RecordKinds
// order, from one consistent read transaction.
func (s *Store) Export(ctx context.Context, emit func(store.Record) error) error {
	now := s.now()
	return s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
			if name, ok := strings.CutPrefix(string(k), "secret/"); ok {
				return emit(store.Record{Kind: store.KindSecret, Value: store.NamedSecret{Name: name, Value: bytes.Clone(v)}})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, et := range exportTables {
			err := tx.Bucket(et.table.name).ForEach(func(k, raw []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				exp, body, err := split(raw)
				if err != nil {
					return fmt.Errorf("%s %q: %w", et.table.name, k, err)
				}
				if expired(exp, now) {
					return nil
				}
				v, err := et.decode(tx, k, body, exp)
				if err != nil {
					return fmt.Errorf("%s %q: %w", et.table.name, k, err)
				}
				return emit(store.Record{Kind: et.kind, Value: v})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func fromNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}
