package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/store"
)

// channel is the LISTEN/NOTIFY channel instances announce events on.
const channel = "gatehouse_events"

var _ store.Broadcaster = (*Store)(nil)

// Announce sends e with pg_notify: every instance listening on the
// database receives it once the statement commits.
func (s *Store) Announce(ctx context.Context, e store.Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if len(payload) > 7900 { // NOTIFY payloads are limited to 8000 bytes
		return fmt.Errorf("announce %s: payload of %d bytes is too large", e.Kind, len(payload))
	}
	_, err = s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload))
	return err
}

// Listen holds one connection of its own (outside the pool) in LISTEN and
// calls fn for every event until ctx ends. After a lost connection it
// reconnects with backoff (up to ten seconds between tries) and delivers
// store.EventResync, since events sent meanwhile were missed.
func (s *Store) Listen(ctx context.Context, fn func(store.Event)) error {
	backoff := 100 * time.Millisecond
	for first := true; ; first = false {
		err := s.listenOnce(ctx, fn, !first)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.onListenError != nil {
			s.onListenError(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, fn func(store.Event), resync bool) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	if resync {
		fn(store.Event{Kind: store.EventResync})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var e store.Event
		if json.Unmarshal([]byte(n.Payload), &e) == nil && e.Kind != "" {
			fn(e)
		}
	}
}

// OnListenError sets a function told about each lost listener connection
// (for logging), before the reconnection.
func (s *Store) OnListenError(f func(error)) { s.onListenError = f }
