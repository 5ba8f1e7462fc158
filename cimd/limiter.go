package cimd

import (
	"context"
	"sync"
)

// limiter bounds fetches in flight: globally (cimd.fetch.max_concurrent)
// and per host (cimd.fetch.max_per_host), so that neither a burst of new
// clients nor one slow host can tie up Gatehouse's outbound capacity.
// Waiting is bounded by the caller's context (the fetch deadline).
type limiter struct {
	global  chan struct{}
	perHost int

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

type hostSlots struct {
	slots chan struct{}
	users int // goroutines holding or waiting; the entry goes at zero
}

func newLimiter(global, perHost int) *limiter {
	return &limiter{global: make(chan struct{}, global), perHost: perHost, hosts: map[string]*hostSlots{}}
}

// acquire takes a host slot, then a global slot; release returns both.
func (l *limiter) acquire(ctx context.Context, host string) (release func(), err error) {
	l.mu.Lock()
	h := l.hosts[host]
	if h == nil {
		h = &hostSlots{slots: make(chan struct{}, l.perHost)}
		l.hosts[host] = h
	}
	h.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if h.users--; h.users == 0 {
			delete(l.hosts, host)
		}
		l.mu.Unlock()
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	select {
	case l.global <- struct{}{}:
	case <-ctx.Done():
		<-h.slots
		leave()
		return nil, ctx.Err()
	}
	return func() {
		<-l.global
		<-h.slots
		leave()
	}, nil
}
