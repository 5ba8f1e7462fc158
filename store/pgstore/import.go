package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// ErrNotEmpty: Import refuses a database that already holds records.
var ErrNotEmpty = errors.New("postgres: the destination database is not empty")

// importBatch is how many rows one COPY carries.
const importBatch = 1000

// importTable says where one kind of record goes.
type importTable struct {
	table   string
	columns []string
	// count is the SQL that counts the kind's rows after the copy.
	count string
}

var importTables = map[store.RecordKind]importTable{
	store.KindSecret:       {"gatehouse_meta", []string{"name", "value"}, "SELECT count(*) FROM gatehouse_meta WHERE name LIKE 'secret/%'"},
	store.KindSigningKey:   {"signing_keys", []string{"id", "created_at", "retired_at", "expires_at", "data"}, ""},
	store.KindUser:         {"users", []string{"id", "name", "data"}, ""},
	store.KindIdentity:     {"identities", []string{"provider", "subject", "user_id", "data"}, ""},
	store.KindSession:      {"sessions", []string{"id", "user_id", "expires_at", "data"}, ""},
	store.KindClient:       {"dcr_clients", []string{"id", "dedup_key", "issued_at", "expires_at", "data"}, ""},
	store.KindInitialToken: {"dcr_initial_tokens", []string{"id", "uses_left", "expires_at", "data"}, ""},
	store.KindGrant:        {"grants", []string{"id", "user_id", "client_id", "expires_at", "data"}, ""},
	store.KindRefreshToken: {"refresh_tokens", []string{"id", "grant_id", "rotated_at", "expires_at", "data"}, ""},
	store.KindCode:         {"auth_codes", []string{"id", "code_expires_at", "redeemed_at", "expires_at", "data"}, ""},
	store.KindConsent:      {"consents", []string{"user_id", "client_id", "data"}, ""},
	store.KindRevokedToken: {"revoked_access_tokens", []string{"jti", "expires_at"}, ""},
	store.KindAssertionID:  {"assertion_ids", []string{"client_id", "jti", "expires_at"}, ""},
	store.KindApproval:     {"client_approvals", []string{"client_id", "state", "requested_at", "data"}, ""},
}

// row turns a record into its table's columns.
func row(rec store.Record, dedupSeen map[string]bool) ([]any, error) {
	switch v := rec.Value.(type) {
	case store.NamedSecret:
		return []any{"secret/" + v.Name, v.Value}, nil
	case store.SigningKey:
		return []any{v.ID, v.CreatedAt, nullTime(v.RetiredAt), nullTime(v.PublishUntil), v}, nil
	case store.User:
		return []any{v.ID, v.Name, v}, nil
	case store.Identity:
		return []any{v.Provider, v.Subject, v.UserID, v}, nil
	case store.Session:
		return []any{v.ID, v.UserID, v.ExpiresAt, v}, nil
	case store.RegisteredClient:
		if v.DedupKey != "" && dedupSeen[v.DedupKey] {
			v.DedupKey = "" // a second holder of one key deduplicates nothing
		}
		dedupSeen[v.DedupKey] = true
		var dedup any
		if v.DedupKey != "" {
			dedup = v.DedupKey
		}
		return []any{v.ID, dedup, v.IssuedAt, v.ExpiresAt, v}, nil
	case store.InitialAccessToken:
		return []any{v.ID, v.UsesLeft, v.ExpiresAt, v}, nil
	case store.Grant:
		return []any{v.ID, v.UserID, v.ClientID, v.ExpiresAt, v}, nil
	case store.RefreshToken:
		return []any{v.ID, v.GrantID, nullTime(v.RotatedAt), v.ExpiresAt, v}, nil
	case store.AuthCode:
		return []any{v.ID, v.ExpiresAt, nullTime(v.RedeemedAt), v.KeepUntil, v}, nil
	case store.Consent:
		return []any{v.UserID, v.ClientID, v}, nil
	case store.IssuedToken:
		return []any{v.JTI, v.ExpiresAt}, nil
	case store.AssertionID:
		return []any{v.ClientID, v.JTI, v.ExpiresAt}, nil
	case store.ClientApproval:
		return []any{v.ClientID, v.State, v.RequestedAt, v}, nil
	}
	return nil, fmt.Errorf("import: %s record of unexpected type %T", rec.Kind, rec.Value)
}

// Import copies the records that produce emits into this (empty) database
// in one transaction: a failure part-way leaves it empty. It then counts
// every table again and fails unless each holds exactly what was emitted.
// It returns the counts per kind.
func (s *Store) Import(ctx context.Context, produce func(emit func(store.Record) error) error) (map[store.RecordKind]int, error) {
	counts := map[store.RecordKind]int{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for kind, it := range importTables {
			cond := "true"
			if kind == store.KindSecret {
				cond = "name LIKE 'secret/%'"
			}
			var has bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+it.table+" WHERE "+cond+")").Scan(&has); err != nil {
				return err
			}
			if has {
				return fmt.Errorf("%w: table %s has rows (copy only into a new database)", ErrNotEmpty, it.table)
			}
		}
		pending := map[store.RecordKind][][]any{}
		flush := func(kind store.RecordKind) error {
			rows := pending[kind]
			if len(rows) == 0 {
				return nil
			}
			it := importTables[kind]
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{it.table}, it.columns, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("copy %s: %w", it.table, err)
			}
			pending[kind] = rows[:0]
			return nil
		}
		dedupSeen := map[string]bool{}
		err := produce(func(rec store.Record) error {
			if _, ok := importTables[rec.Kind]; !ok {
				return fmt.Errorf("import: unknown record kind %q", rec.Kind)
			}
			r, err := row(rec, dedupSeen)
			if err != nil {
				return err
			}
			pending[rec.Kind] = append(pending[rec.Kind], r)
			counts[rec.Kind]++
			if len(pending[rec.Kind]) >= importBatch {
				return flush(rec.Kind)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for kind := range pending {
			if err := flush(kind); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return counts, err
	}
	return counts, s.verifyCounts(ctx, counts)
}

// verifyCounts counts each kind's rows in the database and compares.
func (s *Store) verifyCounts(ctx context.Context, want map[store.RecordKind]int) error {
	var errs []error
	for _, kind := range store.RecordKinds {
		it := importTables[kind]
		q := it.count
		if q == "" {
			q = "SELECT count(*) FROM " + it.table
		}
		var got int
		if err := s.pool.QueryRow(ctx, q).Scan(&got); err != nil {
			return err
		}
		if got != want[kind] {
			errs = append(errs, fmt.Errorf("%s: %d in the database, %d copied", kind, got, want[kind]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("postgres: the copy does not verify: %w", errors.Join(errs...))
	}
	return nil
}
