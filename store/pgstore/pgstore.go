package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Options configure Open. URL is required; every other zero value takes
// a production default.
type Options struct {
	// URL is a libpq connection URL (postgres://user@host/db?sslmode=...)
	// or a key=value DSN.
	URL string
	// Password, when not empty, replaces any password in URL (read from
	// store.postgres.password_file, so the URL can be shown and logged).
	Password string
	// MaxConns bounds the pool (default 4 × GOMAXPROCS, at least 8).
	MaxConns int32
	// MinConns keeps this many connections open while idle (default 0).
	MinConns int32
	// ConnectTimeout bounds establishing one connection (default 5 s).
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel any one statement that runs
	// longer (default 10 s; negative: no limit).
	StatementTimeout time.Duration
	// MaxConnLifetime closes connections older than this (default 1 h), so
	// a pool follows a fail-over or DNS change in bounded time.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle this long (default 30 min).
	MaxConnIdleTime time.Duration
	// Now is the clock used to hide expired records (default time.Now).
	Now func() time.Time
	// NoMigrate skips applying migrations at Open; the schema must then be
	// current already (see Migrate).
	NoMigrate bool
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use by any number of goroutines and processes.
type Store struct {
	pool checkedPool // pgxpool's, reporting an unreachable server as store.ErrUnavailable
	now  func() time.Time
	// onListenError is told about lost LISTEN connections.
	onListenError func(error)
}

var _ store.Store = (*Store)(nil)

// PoolConfig turns Options into a pgxpool configuration, applying the
// defaults. It fails when the URL does not parse.
func PoolConfig(opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, fmt.Errorf("store.postgres.url does not parse as a libpq URL or DSN: %s", RedactURL(err.Error()))
	}
	if opts.Password != "" {
		cfg.ConnConfig.Password = opts.Password
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns()
	}
	cfg.MinConns = max(opts.MinConns, 0)
	cfg.ConnConfig.ConnectTimeout = orDefault(opts.ConnectTimeout, 5*time.Second)
	cfg.MaxConnLifetime = orDefault(opts.MaxConnLifetime, time.Hour)
	cfg.MaxConnIdleTime = orDefault(opts.MaxConnIdleTime, 30*time.Minute)
	if st := orDefault(opts.StatementTimeout, 10*time.Second); st > 0 {
		if cfg.ConnConfig.RuntimeParams == nil {
			cfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(st.Milliseconds())
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "gatehouse"
	}
	return cfg, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Open connects to the database, applies pending migrations (unless
// NoMigrate) and checks the schema version. It fails with an error
// wrapping store.ErrSchemaTooNew when the database was migrated by a newer
// Gatehouse.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, err
	}
	return openPool(ctx, cfg, opts)
}

// openPool is Open with the pool configuration made.
func openPool(ctx context.Context, cfg *pgxpool.Config, opts Options) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", describe(cfg), err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{pool: checkedPool{pool}, now: opts.Now}
	if !opts.NoMigrate {
		if _, err := migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if err := checkVersion(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// describe names the server without credentials, for error messages.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("host=%s port=%d database=%s user=%s", c.Host, c.Port, c.Database, c.User)
}

// Pool exposes the connection pool (LISTEN/NOTIFY and tests use it).
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Close closes every connection.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping runs a trivial query on a pooled connection.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// SchemaVersion returns the record layout version (store.SchemaVersion)
// the migrations recorded; the migration version itself is goose's.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var raw []byte
	if err := s.pool.QueryRow(ctx, "SELECT value FROM gatehouse_meta WHERE name = 'schema_version'").Scan(&raw); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return strconv.Atoi(string(raw))
}

// Secret returns the named installation secret, creating it if needed.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	key := "secret/" + name
	var out []byte
	err := s.pool.QueryRow(ctx, "SELECT value FROM gatehouse_meta WHERE name = $1", key).Scan(&out)
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	fresh, err := generate()
	if err != nil {
		return nil, err
	}
	// ON CONFLICT DO NOTHING: racing creators on any instance agree on
	// the first value committed, which the follow-up read returns.
	err = s.pool.QueryRow(ctx, `INSERT INTO gatehouse_meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING RETURNING value`, key, fresh).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, "SELECT value FROM gatehouse_meta WHERE name = $1", key).Scan(&out)
	}
	return out, err
}

// isUniqueViolation reports a unique or primary key conflict.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Backend names this backend ("postgres") for the readiness report.
func (s *Store) Backend() string { return "postgres" }
