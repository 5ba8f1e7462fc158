package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

// watchStore exports the PostgreSQL pool's state, read at scrape time, so
// store.postgres.max_conns and the timeouts can be tuned from evidence.
func watchStore(reg *prometheus.Registry, st store.Store) {
	pg, ok := st.(*pgstore.Store)
	if !ok {
		return
	}
	pool := pg.Pool()
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("gatehouse_store_pool_max_connections", "store.postgres.max_conns in effect.",
			func() float64 { return float64(pool.Stat().MaxConns()) }),
		gauge("gatehouse_store_pool_acquired_connections", "PostgreSQL connections in use by a request now.",
			func() float64 { return float64(pool.Stat().AcquiredConns()) }),
		gauge("gatehouse_store_pool_idle_connections", "Open PostgreSQL connections waiting for work.",
			func() float64 { return float64(pool.Stat().IdleConns()) }),
		counter("gatehouse_store_pool_acquires_total", "Connections handed to requests.",
			func() float64 { return float64(pool.Stat().AcquireCount()) }),
		counter("gatehouse_store_pool_empty_acquires_total", "Acquisitions that had to wait because every connection was busy (raise max_conns if this climbs).",
			func() float64 { return float64(pool.Stat().EmptyAcquireCount()) }),
		counter("gatehouse_store_pool_acquire_wait_seconds_total", "Time requests spent waiting for a free connection.",
			func() float64 { return pool.Stat().EmptyAcquireWaitTime().Seconds() }),
		counter("gatehouse_store_pool_new_connections_total", "Connections opened (a climb means churn from max_conn_lifetime or lost connections).",
			func() float64 { return float64(pool.Stat().NewConnsCount()) }),
	)
}

// storeLogAttrs says where the data lives, for the start-up log line
// (never the password).
func storeLogAttrs(cfg Config) []any {
	if cfg.Store.Backend == "postgres" {
		return []any{"store", "postgres", "database", pgstore.RedactURL(cfg.Store.Postgres.URL)}
	}
	return []any{"store", "bbolt", "data_dir", cfg.DataDir}
}

// keyPublishAhead is tokens.key_publish_ahead where instances share the
// store, and 0 (a new key signs at once) on the embedded one.
func keyPublishAhead(cfg Config) time.Duration {
	if cfg.Store.Backend == "postgres" {
		return cfg.Tokens.KeyPublishAhead
	}
	return 0
}

// listenForPeers applies what other instances sharing the store announce:
// key rotations, CIMD cache purges, approval decisions and configuration
// reloads. After a lost connection (events may have been missed) it
// reloads the keys and the configuration and empties the CIMD and
// approval caches, which are never authoritative.
func listenForPeers(ctx context.Context, st store.Store, srv *server.Server, rl *reloader, metadata *cimd.Resolver, log *slog.Logger) {
	b, ok := st.(store.Broadcaster)
	if !ok {
		return
	}
	if pg, ok := st.(*pgstore.Store); ok {
		pg.OnListenError(func(err error) { log.Warn("lost the event connection to the database; reconnecting", "err", err) })
	}
	go b.Listen(ctx, func(e store.Event) {
		if e.Origin == srv.Origin() {
			return // applied already
		}
		log.Info("event from another instance", "event", e.Kind, "key", e.Key, "origin", e.Origin)
		switch e.Kind {
		case store.EventKeys:
			srv.KeysChanged()
		case store.EventCachePurge:
			if e.Key == "" {
				metadata.PurgeAll()
			} else {
				metadata.Purge(e.Key)
			}
		case store.EventReload:
			rl.reloadQuietly("another instance (" + e.Origin + ")")
		case store.EventApproval:
			srv.ApprovalChanged(e.Key)
		case store.EventResync:
			srv.ApprovalChanged("")
			srv.KeysChanged()
			metadata.PurgeAll()
			rl.reloadQuietly("resync after a lost event connection")
		}
	})
}

// announceFromCLI tells running instances about a change a command made
// directly in a shared store.
func announceFromCLI(ctx context.Context, st store.Store, e store.Event) {
	if b, ok := st.(store.Broadcaster); ok {
		e.Origin = "cli"
		_ = b.Announce(ctx, e)
	}
}
