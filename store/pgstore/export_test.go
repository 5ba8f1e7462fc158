package pgstore

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// SweepLockKey is the sweeper's advisory lock, for tests that hold it.
var SweepLockKey = lockSweep

// OpenCounting opens like Open, counting the statements the store sends
// (each one a round trip; BEGIN and COMMIT count).
func OpenCounting(ctx context.Context, opts Options) (*Store, *atomic.Int64, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	n := &statementCounter{}
	cfg.ConnConfig.Tracer = n
	s, err := openPool(ctx, cfg, opts)
	return s, &n.Int64, err
}

type statementCounter struct{ atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.Add(1)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
