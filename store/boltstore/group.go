package boltstore

import (
	"errors"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// groupCommitter shares commits between concurrent writers without a
// timer. The first caller to arrive commits at once; callers that arrive
// while a commit (and its fsync) is in flight queue up and go together in
// the next one. Under load, batches grow to whatever arrived during one
// fsync; a lone request pays no batching delay at all. bbolt's Batch, by
// contrast, waits MaxBatchDelay unless MaxBatchSize callers are queued, so
// a fixed number of concurrent clients below that size spends most of its
// time waiting on the timer.
//
// Functions may run more than once, as with Batch: if any function in a
// group fails, the group is rolled back and each of its functions is
// retried in a transaction of its own, so one failure cannot take the
// others with it. Functions must therefore be idempotent with respect to
// the state they read.
type groupCommitter struct {
	// write runs one write transaction (Store.write).
	write   func(func(*bolt.Tx) error) error
	maxSize int

	mu      sync.Mutex
	queue   []*groupCall
	running bool
	// commits counts shared transactions (tests read it).
	commits atomic.Int64
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error
	// lead is signalled when this call becomes the leader.
	lead chan struct{}
}

// do runs fn in a shared write transaction and returns its error (or the
// commit's).
func (g *groupCommitter) do(fn func(*bolt.Tx) error) error {
	call := &groupCall{fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, call)
	if !g.running {
		g.running = true
		call.lead <- struct{}{}
	}
	g.mu.Unlock()
	select {
	case err := <-call.done:
		return err
	case <-call.lead:
		g.commitNext()
		return <-call.done
	}
}

// commitNext commits the group at the head of the queue, which includes
// the leader's own call, then hands leadership to the first caller still
// waiting. Exactly one goroutine leads at a time; it is always one of the
// callers, so no background goroutine outlives the store, and no caller
// waits on commits for others after its own has landed.
func (g *groupCommitter) commitNext() {
	g.mu.Lock()
	n := min(len(g.queue), g.maxSize)
	group := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	g.commit(group)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.running = false
	} else {
		g.queue[0].lead <- struct{}{}
	}
	g.mu.Unlock()
}

func (g *groupCommitter) commit(group []*groupCall) {
	g.commits.Add(1)
	var failed *groupCall
	err := g.write(func(tx *bolt.Tx) error {
		for _, c := range group {
			if err := safeCall(c.fn, tx); err != nil {
				failed = c
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		for _, c := range group {
			c.done <- nil
		}
	case failed != nil && len(group) > 1:
		// Isolate the failure: every function runs again, alone.
		for _, c := range group {
			c.done <- unavailable(g.write(func(tx *bolt.Tx) error { return safeCall(c.fn, tx) }))
		}
	default:
		err = unavailable(err)
		for _, c := range group {
			c.done <- err
		}
	}
}

// errPanic reports a panic inside a transaction function as an error, so
// one bad call cannot kill the leader and strand the rest of the queue.
var errPanic = errors.New("boltstore: panic in transaction function")

func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	return fn(tx)
}

// queued reports how many calls wait for a commit (tests use it).
func (g *groupCommitter) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}
