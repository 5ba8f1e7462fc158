package pgstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-dev/gatehouse/store"
)

// A database that cannot be reached, or says it is going away, is
// store.ErrUnavailable (503, retry later); SQL errors and lost answers
// keep their identity. The whole behaviour, a PostgreSQL server stopped
// and started under a running Gatehouse, is e2e/chaos's
// TestFaultPostgresStopsAndComesBack.
func TestUnavailableClassifiesServerErrors(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection failure", pg("08006"), true},
		{"admin shutdown", pg("57P01"), true},
		{"crash shutdown", pg("57P02"), true},
		{"starting up", pg("57P03"), true},
		{"too many connections", pg("53300"), true},
		{"wrapped", fmt.Errorf("grant: %w", pg("57P01")), true},
		{"unique violation", pg("23505"), false},
		{"statement timeout", pg("57014"), false},
		{"serialization failure", pg("40001"), false},
		{"no rows", pgx.ErrNoRows, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unavailable(tt.err)
			if errors.Is(got, store.ErrUnavailable) != tt.want {
				t.Fatalf("unavailable(%v) = %v; want ErrUnavailable %v", tt.err, got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Fatalf("the cause %v is lost in %v", tt.err, got)
			}
		})
	}
	if unavailable(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	already := fmt.Errorf("%w: x", store.ErrUnavailable)
	if unavailable(already) != already {
		t.Fatal("an ErrUnavailable must not be wrapped twice")
	}
}

// A real connection attempt to a server that is not there.
func TestUnavailableOnARefusedConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, "host="+t.TempDir()+" user=nobody dbname=none sslmode=disable connect_timeout=2")
	if err == nil {
		t.Fatal("connected to a server that does not exist")
	}
	if !errors.Is(unavailable(err), store.ErrUnavailable) {
		t.Fatalf("a refused connection is not ErrUnavailable: %v", err)
	}
}
