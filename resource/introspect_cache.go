package resource

import (
	"sync"
	"time"
)

// answerCache keeps introspection answers by the SHA-256 of the token (the
// token itself is never kept), each until its own deadline. It is bounded:
// when full, expired answers are swept; if none has expired, the new
// answer is not cached, which only costs another request later.
type answerCache struct {
	max int

	mu      sync.Mutex
	answers map[[32]byte]answer
}

type answer struct {
	active bool
	until  time.Time
}

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, answers: map[[32]byte]answer{}}
}

func (c *answerCache) get(key [32]byte, now time.Time) (active, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.answers[key]
	if !ok || !now.Before(a.until) {
		return false, false
	}
	return a.active, true
}

func (c *answerCache) put(key [32]byte, active bool, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.answers[key]; !exists && len(c.answers) >= c.max {
		for k, a := range c.answers {
			if !now.Before(a.until) {
				delete(c.answers, k)
			}
		}
		if len(c.answers) >= c.max {
			return
		}
	}
	c.answers[key] = answer{active: active, until: until}
}

func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.answers)
}
