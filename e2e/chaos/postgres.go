package main

// A throwaway PostgreSQL cluster for runs on the postgres backend, started
// and stopped at will (the fault test stops it under a running Gatehouse).
// Debian's server programs, as store/pgstore/pgtest finds them; as root,
// they run as the postgres system user, since they refuse root.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

type pgCluster struct {
	dir, data, bin string
	asUser         string
	// URL is the gatehouse database's connection string (a Unix socket in
	// dir: no port to collide with anything).
	URL string
}

// startPostgres initialises a cluster in a new temporary directory (one
// the postgres user can reach), starts it and creates the database
// gatehouse. close stops it and removes the directory.
func startPostgres(ctx context.Context) (*pgCluster, error) {
	bin, err := pgtest.BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-chaos-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, data: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("as root, PostgreSQL runs as the postgres system user (Debian's package creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.asUser = "postgres"
	}
	if out, err := c.run(ctx, "initdb", "-D", c.data, "-A", "trust", "-U", "gatehouse", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := c.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	admin := fmt.Sprintf("host=%s user=gatehouse dbname=postgres sslmode=disable", dir)
	conn, err := pgx.Connect(ctx, admin)
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE DATABASE gatehouse")
		conn.Close(ctx)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.URL = fmt.Sprintf("host=%s user=gatehouse dbname=gatehouse sslmode=disable", dir)
	return c, nil
}

// close stops the server at once and removes its files.
func (c *pgCluster) close() {
	_ = c.stop(context.Background(), "immediate")
	os.RemoveAll(c.dir)
}

// start starts the server and waits until it accepts connections.
func (c *pgCluster) start(ctx context.Context) error {
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c max_connections=200", c.dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// stop shuts the server down: "fast" ends every session with an
// administrator-shutdown error, "immediate" is a crash (recovery at the
// next start).
func (c *pgCluster) stop(ctx context.Context, mode string) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data, "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

func (c *pgCluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// settings point Gatehouse at the cluster.
func (c *pgCluster) settings() settings {
	return settings{fmt.Sprintf("store:\n  backend: postgres\n  postgres:\n    url: %q\n    connect_timeout: 2s", c.URL)}
}

// check is the postgres backend's check after a kill: the database
// answers. (The harness kills Gatehouse, not PostgreSQL, whose own
// guarantees keep its files consistent; what is checked is that every
// acknowledged write is there, through Gatehouse.)
func (c *pgCluster) check(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	return conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity").Scan(&n)
}
