package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names an existing server to create test databases on.
const EnvURL = "GATEHOUSE_TEST_POSTGRES_URL"

var (
	once    sync.Once
	cluster *Cluster
	started error
)

// Cluster is a running PostgreSQL server the tests may create databases on.
type Cluster struct {
	// AdminURL connects to the maintenance database as a superuser (or a
	// role with CREATEDB).
	AdminURL string
	// dir is the temporary directory of a cluster this process started
	// (empty for GATEHOUSE_TEST_POSTGRES_URL).
	dir, bin string
	asUser   string
}

// Main runs the tests and stops the cluster if one was started. Use it
// from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	return code
}

// Shared returns the process's cluster, starting it on first use.
func Shared() (*Cluster, error) {
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			cluster = &Cluster{AdminURL: u}
			return
		}
		cluster, started = Start(false)
	})
	return cluster, started
}

// NewDatabase creates an empty database for t, dropped when t ends, and
// returns its connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c, err := Shared()
	if err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	name := "gh_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return u
}

// CreateDatabase creates an empty database and returns its connection
// string.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := c.admin(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return "", err
	}
	return WithDatabase(c.AdminURL, name), nil
}

func (c *Cluster) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithDatabase returns the connection string u pointing at database name.
func WithDatabase(u, name string) string {
	if p, err := url.Parse(u); err == nil && (p.Scheme == "postgres" || p.Scheme == "postgresql") {
		p.Path = "/" + name
		q := p.Query()
		q.Del("dbname")
		p.RawQuery = q.Encode()
		return p.String()
	}
	return u + " dbname=" + name
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BinDir finds Debian's PostgreSQL server programs: the newest
// /usr/lib/postgresql/N/bin, or initdb on PATH.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL's initdb is not installed: run .ci/setup-postgres (make test does), or set %s to a server where the tests may create databases", EnvURL)
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start initialises and starts a cluster in a new temporary directory;
// Stop removes it. Test clusters run with fsync off; a durable one (for
// load measurements) syncs every commit like a production server.
func Start(durable bool) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: hand the directory
		// to the postgres system user and run them as it.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres system user (Debian's postgresql package creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.asUser = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-A", "trust", "-U", "gatehouse", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// Only a Unix socket in the private directory: no port to collide
	// with parallel test processes or a system cluster. Durability
	// settings are off because the cluster is thrown away.
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c max_connections=300", dir)
	if durable {
		opts += " -c shared_buffers=256MB"
	} else {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB"
	}
	if out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	c.AdminURL = fmt.Sprintf("host=%s user=gatehouse dbname=postgres sslmode=disable", dir)
	return c, nil
}

func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// Stop shuts a cluster this process started down at once and removes its
// directory.
func (c *Cluster) Stop() {
	if c.dir == "" {
		return
	}
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	os.RemoveAll(c.dir)
}
