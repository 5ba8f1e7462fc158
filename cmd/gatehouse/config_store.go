package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

// StoreConfig chooses where Gatehouse keeps its data.
type StoreConfig struct {
	Backend  string         `yaml:"backend" help:"bbolt (the embedded database in data_dir: one instance) or postgres (store.postgres: any number of instances on one database)."`
	Postgres PostgresConfig `yaml:"postgres"`
}

// PostgresConfig is the PostgreSQL connection and its pool.
type PostgresConfig struct {
	URL              string        `yaml:"url" redact:"dsn" help:"libpq connection URL (postgres://user@host:5432/db?sslmode=verify-full) or key=value DSN. A password in it is masked by config check; prefer store.postgres.password_file."`
	PasswordFile     string        `yaml:"password_file" help:"A file holding the database password (trailing newline ignored); wins over a password in store.postgres.url."`
	MaxConns         int           `yaml:"max_conns" unit:"connections" help:"Most connections this instance opens. 0: four per CPU core, between 8 and 32. Keep instances × max_conns below the server's max_connections."`
	MinConns         int           `yaml:"min_conns" unit:"connections" help:"Connections kept open while idle."`
	ConnectTimeout   time.Duration `yaml:"connect_timeout" help:"Longest wait to establish one connection."`
	StatementTimeout time.Duration `yaml:"statement_timeout" help:"The server cancels a statement running longer than this (statement_timeout); 0s: no limit."`
	MaxConnLifetime  time.Duration `yaml:"max_conn_lifetime" help:"Connections older than this are replaced, so the pool follows a fail-over in bounded time."`
	MaxConnIdleTime  time.Duration `yaml:"max_conn_idle_time" help:"Idle connections are closed after this long."`
}

func defaultStore() StoreConfig {
	return StoreConfig{
		Backend: "bbolt",
		Postgres: PostgresConfig{
			ConnectTimeout:   5 * time.Second,
			StatementTimeout: 10 * time.Second,
			MaxConnLifetime:  time.Hour,
			MaxConnIdleTime:  30 * time.Minute,
		},
	}
}

// validateStore checks the store settings; the PostgreSQL ones only when
// that backend is chosen.
func (c *Config) validateStore() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Store.Backend {
	case "bbolt":
		return nil
	case "postgres":
	default:
		bad("store.backend", "%q is not one of bbolt, postgres", c.Store.Backend)
		return ps
	}
	p := c.Store.Postgres
	if strings.TrimSpace(p.URL) == "" {
		bad("store.postgres.url", "is required with store.backend postgres (or set GATEHOUSE_STORE_POSTGRES_URL)")
	} else if _, err := pgstore.PoolConfig(pgstore.Options{URL: p.URL}); err != nil {
		bad("store.postgres.url", "%v", err)
	}
	if p.PasswordFile != "" {
		if _, err := readPasswordFile(p.PasswordFile); err != nil {
			bad("store.postgres.password_file", "%v", err)
		}
	}
	if p.MaxConns < 0 || p.MaxConns > 10000 {
		bad("store.postgres.max_conns", "must be between 0 (automatic) and 10000")
	}
	if p.MinConns < 0 || (p.MaxConns > 0 && p.MinConns > p.MaxConns) {
		bad("store.postgres.min_conns", "must be between 0 and store.postgres.max_conns")
	}
	for key, d := range map[string]time.Duration{
		"store.postgres.connect_timeout": p.ConnectTimeout, "store.postgres.max_conn_lifetime": p.MaxConnLifetime,
		"store.postgres.max_conn_idle_time": p.MaxConnIdleTime,
	} {
		if d <= 0 {
			bad(key, "must be a positive duration, got %s", d)
		}
	}
	if p.StatementTimeout < 0 {
		bad("store.postgres.statement_timeout", "must not be negative")
	}
	return ps
}

// readPasswordFile reads a password file, refusing an empty one.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read: %v", err)
	}
	pw := strings.TrimRight(string(data), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}

// pgOptions turns validated settings into the backend's options.
func pgOptions(cfg Config) (pgstore.Options, error) {
	p := cfg.Store.Postgres
	opts := pgstore.Options{
		URL: p.URL, MaxConns: int32(p.MaxConns), MinConns: int32(p.MinConns),
		ConnectTimeout: p.ConnectTimeout, MaxConnLifetime: p.MaxConnLifetime, MaxConnIdleTime: p.MaxConnIdleTime,
		StatementTimeout: p.StatementTimeout,
	}
	if p.StatementTimeout == 0 {
		opts.StatementTimeout = -1 // explicitly no limit
	}
	if p.PasswordFile != "" {
		pw, err := readPasswordFile(p.PasswordFile)
		if err != nil {
			return opts, fmt.Errorf("store.postgres.password_file: %w", err)
		}
		opts.Password = pw
	}
	return opts, nil
}
