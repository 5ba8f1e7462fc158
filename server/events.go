package server

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// keyRefreshInterval bounds how stale an instance's signing keys can be
// when an announcement was missed: each instance re-reads them this often
// (one small query), and at every pending activation.
const keyRefreshInterval = 10 * time.Second

// Origin identifies this process in the events it announces.
func (s *Server) Origin() string { return s.origin }

// Shared reports whether other instances may share the store (it can
// announce events to them).
func (s *Server) Shared() bool { return s.events != nil }

// announce tells the other instances sharing the store about e. It is best
// effort: a failure is logged, and the others catch up on their next
// periodic refresh (keys) or reconnection (everything).
func (s *Server) announce(ctx context.Context, e store.Event) {
	if s.events == nil {
		return
	}
	e.Origin = s.origin
	if err := s.events.Announce(context.WithoutCancel(ctx), e); err != nil {
		s.log.Warn("announce to other instances failed", "event", e.Kind, "err", err)
	}
}

// Announce is announce for the composition layer (configuration reloads).
func (s *Server) Announce(ctx context.Context, e store.Event) { s.announce(ctx, e) }

// KeysChanged asks the key refresher to reload the keys now.
func (s *Server) KeysChanged() {
	select {
	case s.keysChanged <- struct{}{}:
	default:
	}
}

// runKeyRefresher reloads the signing keys every keyRefreshInterval, when
// a published key's activation (or a key's retirement) comes, and when
// KeysChanged is called, until ctx ends. Every instance thus switches to a
// key published ahead at its activation time, with no coordination.
func (s *Server) runKeyRefresher(ctx context.Context) {
	for {
		wait := keyRefreshInterval
		if next := s.keys.NextChange(); !next.IsZero() {
			wait = min(wait, max(next.Sub(s.now()), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.keysChanged:
			t.Stop()
		}
		before := s.keys.ActiveKeyID()
		if err := s.reloadKeys(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Error("reload signing keys", "err", err)
			}
			continue
		}
		if after := s.keys.ActiveKeyID(); after != before {
			s.log.Info("signing key changed", "kid", after, "previous", before)
		}
	}
}
