package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// Instances starting together on an empty database migrate it once: every
// Open succeeds and each migration is recorded exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgstore.Open(ctx, pgstore.Options{URL: url})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied, distinct int
	if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT version_id) FROM gatehouse_schema_migrations WHERE version_id > 0").Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != int(pgstore.LatestVersion()) || distinct != applied {
		t.Fatalf("migrations recorded %d times (%d distinct), want each of %d once", applied, distinct, pgstore.LatestVersion())
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, pgstore.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "INSERT INTO gatehouse_schema_migrations (version_id, is_applied) VALUES (9999, true)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = pgstore.Open(ctx, pgstore.Options{URL: url})
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("open a newer schema: err = %v, want ErrSchemaTooNew naming version 9999", err)
	}
	if _, err := pgstore.Migrate(ctx, pgstore.Options{URL: url}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("migrate a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestNoMigrateNeedsCurrentSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	if _, err := pgstore.Open(ctx, pgstore.Options{URL: url, NoMigrate: true}); !errors.Is(err, pgstore.ErrSchemaBehind) {
		t.Fatalf("open an empty database without migrating: err = %v, want ErrSchemaBehind", err)
	}
	res, err := pgstore.Migrate(ctx, pgstore.Options{URL: url})
	if err != nil || res.From != 0 || res.To != pgstore.LatestVersion() || len(res.Applied) == 0 {
		t.Fatalf("Migrate = %+v, %v", res, err)
	}
	again, err := pgstore.Migrate(ctx, pgstore.Options{URL: url})
	if err != nil || len(again.Applied) != 0 || again.From != res.To {
		t.Fatalf("second Migrate = %+v, %v; want nothing applied", again, err)
	}
	s, err := pgstore.Open(ctx, pgstore.Options{URL: url, NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestBadURLIsRedacted(t *testing.T) {
	_, err := pgstore.Open(context.Background(), pgstore.Options{URL: "postgres://u:hunter2@host:notaport/db"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v; want a parse error without the password", err)
	}
}
