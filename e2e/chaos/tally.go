package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// tally counts what a run wrote, checked and lost. Workers share it.
type tally struct {
	mu       sync.Mutex
	writes   map[string]int // acknowledged writes by kind
	checked  int            // acknowledged writes verified after restarts
	resolved int            // writes in flight at a kill, found whole (applied or absent)
	applied  int            // of those, how many had been applied
	lost     int            // acknowledged writes missing or changed
	half     int            // writes in flight found neither applied nor absent
	errors   int            // answers no correct server gives
	problems []string
}

func newTally() *tally { return &tally{writes: map[string]int{}} }

const maxProblems = 40

func (t *tally) note(format string, args ...any) {
	if len(t.problems) < maxProblems {
		t.problems = append(t.problems, fmt.Sprintf(format, args...))
	}
}

func (t *tally) wrote(kind string) {
	t.mu.Lock()
	t.writes[kind]++
	t.mu.Unlock()
}

// check records one verification of an acknowledged write.
func (t *tally) check(ok bool, kind, format string, args ...any) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checked++
	if !ok {
		t.lost++
		t.note("LOST %s: "+format, append([]any{kind}, args...)...)
	}
	return ok
}

func (t *tally) lose(kind, format string, args ...any) { t.check(false, kind, format, args...) }

// resolve records how a write in flight at a kill turned out.
func (t *tally) resolve(whole, applied bool, kind, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !whole {
		t.half++
		t.note("HALF %s: "+format, append([]any{kind}, args...)...)
		return
	}
	t.resolved++
	if applied {
		t.applied++
	}
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errors++
	t.note("ERROR %v", err)
}

func (t *tally) totalWrites() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.writes {
		n += v
	}
	return n
}

func (t *tally) breakdown() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kinds []string
	for k, v := range t.writes {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(kinds)
	return strings.Join(kinds, " ")
}
