package store

import "context"

// Event kinds instances sharing a store tell each other about.
const (
	// EventKeys: the signing keys changed (a rotation); reload them.
	EventKeys = "keys"
	// EventCachePurge: drop the CIMD cache entry Key (every entry when
	// Key is empty).
	EventCachePurge = "cache_purge"
	// EventReload: an operator reloaded the configuration; reload yours.
	EventReload = "reload"
	// EventApproval: the approval record of client Key changed (a
	// decision); drop any copy kept in memory.
	EventApproval = "approval"
	// EventResync is delivered locally (never sent) after the listener
	// reconnected: events may have been missed, so refresh everything.
	EventResync = "resync"
)

// Event is one change announced to every instance sharing the store.
type Event struct {
	Kind string `json:"kind"`
	Key  string `json:"key,omitempty"`
	// Origin identifies the announcing process, so it can skip its own
	// events (it applied them already).
	Origin string `json:"origin,omitempty"`
}

// Broadcaster is implemented by backends that several Gatehouse processes
// share (PostgreSQL: LISTEN/NOTIFY). The embedded backend has one process
// and does not implement it.
type Broadcaster interface {
	// Announce delivers e to every process listening, this one included,
	// within about a second; it is lost for processes not listening then.
	Announce(ctx context.Context, e Event) error
	// Listen calls fn for each event, in order, until ctx ends,
	// reconnecting after a lost connection (then delivering EventResync).
	// It returns ctx's error.
	Listen(ctx context.Context, fn func(Event)) error
}
