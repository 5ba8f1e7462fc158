package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

// Two processes on one database: an event announced through one reaches
// a listener on the other, and after the listener's connection is killed
// it reconnects, says so (EventResync) and receives later events.
func TestAnnounceReachesOtherInstances(t *testing.T) {
	url := newURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := pgstore.Open(ctx, pgstore.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pgstore.Open(ctx, pgstore.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := make(chan store.Event, 16)
	go b.Listen(ctx, func(e store.Event) { events <- e })
	// Announce until the listener is connected and the first arrives.
	want := store.Event{Kind: store.EventCachePurge, Key: "https://app.example/client.json", Origin: "a"}
	got := announceUntilReceived(t, a, want, events)
	if got != want {
		t.Fatalf("received %+v, want %+v", got, want)
	}
	if _, err := a.Pool().Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN gatehouse_events'"); err != nil {
		t.Fatal(err)
	}
	for resynced := false; !resynced; {
		select {
		case e := <-events:
			switch e.Kind {
			case store.EventResync:
				resynced = true
			case want.Kind: // a late copy of an announcement repeated above
			default:
				t.Fatalf("after the lost connection: %+v, want a resync", e)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no resync after the listener's connection was killed")
		}
	}
	if got := announceUntilReceived(t, a, store.Event{Kind: store.EventKeys, Origin: "a"}, events); got.Kind != store.EventKeys {
		t.Fatalf("after reconnecting: %+v", got)
	}
}

func announceUntilReceived(t *testing.T, s *pgstore.Store, e store.Event, events <-chan store.Event) store.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if err := s.Announce(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-events:
			return got
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("the event never arrived")
		}
	}
}
