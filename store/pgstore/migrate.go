package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-dev/gatehouse/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's bookkeeping table.
const versionTable = "gatehouse_schema_migrations"

// Advisory lock keys (pg_advisory_lock's bigint space is per database).
// Arbitrary constants: "gh" followed by a purpose number.
const (
	lockMigrate int64 = 0x6768_0000_0001
	lockSweep   int64 = 0x6768_0000_0002
)

// provider builds a goose provider over the pool, holding a session-level
// advisory lock while it migrates so that instances starting together
// apply each migration once; the others wait (up to about five minutes)
// and then find nothing pending.
func provider(pool *pgxpool.Pool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockMigrate), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), sub,
		goose.WithTableName(versionTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
}

// LatestVersion is the newest migration this binary carries.
func LatestVersion() int64 {
	entries, _ := fs.Glob(migrations, "migrations/*.sql")
	var v int64
	for _, e := range entries {
		var n int64
		if _, err := fmt.Sscanf(e, "migrations/%d_", &n); err == nil && n > v {
			v = n
		}
	}
	return v
}

// MigrationResult says what Migrate did.
type MigrationResult struct {
	// From and To are the schema versions before and after.
	From, To int64
	// Applied lists the migrations run, in order.
	Applied []string
}

// Migrate applies every pending migration under the advisory lock. It
// refuses (store.ErrSchemaTooNew) a database migrated by a newer binary.
func Migrate(ctx context.Context, opts Options) (MigrationResult, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return MigrationResult{}, err
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) (MigrationResult, error) {
	p, err := provider(pool)
	if err != nil {
		return MigrationResult{}, err
	}
	defer p.Close()
	from, err := dbVersion(ctx, p)
	if err != nil {
		return MigrationResult{}, err
	}
	res := MigrationResult{From: from, To: from}
	if err := tooNew(from); err != nil {
		return res, err
	}
	applied, err := p.Up(ctx)
	for _, r := range applied {
		if r.Error == nil && r.Source != nil {
			res.Applied = append(res.Applied, fmt.Sprintf("%05d %s", r.Source.Version, r.Source.Path))
			res.To = r.Source.Version
		}
	}
	if err != nil && !errors.Is(err, goose.ErrNoNextVersion) {
		return res, fmt.Errorf("postgres: migrate from version %d: %w", from, err)
	}
	return res, nil
}

// dbVersion is the database's migration version (0 for an empty one).
func dbVersion(ctx context.Context, p *goose.Provider) (int64, error) {
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return v, nil
}

func tooNew(v int64) error {
	if latest := LatestVersion(); v > latest {
		return fmt.Errorf("%w: the database is at migration %d, this Gatehouse knows up to %d; run the newer Gatehouse (or restore a backup taken before its upgrade)", store.ErrSchemaTooNew, v, latest)
	}
	return nil
}

// ErrSchemaBehind: the database needs migrations this binary carries, and
// Open was told not to apply them.
var ErrSchemaBehind = errors.New("postgres: database schema is older than this Gatehouse")

// checkVersion accepts only a database at exactly LatestVersion.
func checkVersion(ctx context.Context, pool *pgxpool.Pool) error {
	p, err := provider(pool)
	if err != nil {
		return err
	}
	defer p.Close()
	v, err := dbVersion(ctx, p)
	if err != nil {
		return err
	}
	if err := tooNew(v); err != nil {
		return err
	}
	if v < LatestVersion() {
		return fmt.Errorf("%w: it is at migration %d, this binary needs %d; run `gatehouse store migrate`", ErrSchemaBehind, v, LatestVersion())
	}
	return nil
}
