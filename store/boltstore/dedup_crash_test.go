package boltstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// crashChildEnv names the data dir of TestDedupSurvivesKill9's child.
const crashChildEnv = "GATEHOUSE_BOLTSTORE_CRASH_CHILD_DIR"

// TestDedupSurvivesKill9: a child process registers clients from 16
// goroutines at once (so commits are shared) and marks some used,
// printing each one once the store acknowledged it; it is killed with
// SIGKILL mid-stream. Reopened, the file holds every acknowledged
// registration, the rebuilt index deduplicates against each acknowledged
// unused client, never against an acknowledged used one, and the file
// passes Check. While the child runs, this process cannot open the file
// (bbolt's lock), and the kill releases the lock.
func TestDedupSurvivesKill9(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDedupSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	registered := map[string]string{} // client ID → DedupKey
	used := map[string]bool{}
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 3 && f[0] == "registered":
			registered[f[1]] = f[2]
		case len(f) == 2 && f[0] == "used":
			used[f[1]] = true
		}
		if len(registered) == 1 {
			// bbolt is one process's file: the child holds its lock.
			if _, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
				t.Fatalf("open while the child runs: %v, want ErrLocked", err)
			}
		}
		if !killed && len(registered) >= 400 && len(used) >= 40 {
			// Mid-stream: the child keeps writing until the signal lands.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before it was killed: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("file inconsistent after kill -9: %v", err)
	}
	ctx := context.Background()
	now := time.Now()
	inFlight := 0
	for id, key := range registered {
		c, err := s.Client(ctx, id)
		if err != nil || c.ID != id {
			t.Fatalf("acknowledged registration %s lost: %v", id, err)
		}
		switch {
		case used[id] && !c.Used():
			t.Fatalf("%s: acknowledged used, unused on disk", id)
		case !used[id] && c.Used():
			// Its touch was in flight when the child died: it may or may
			// not have landed, and one per goroutine at most.
			if inFlight++; inFlight > 16 {
				t.Fatalf("%d clients used on disk without acknowledgement, want at most one per goroutine", inFlight)
			}
			used[id] = true
		}
		got, created, err := s.CreateClient(ctx, dedupClient(id+"-again", key, now), "")
		switch {
		case err != nil:
			t.Fatal(err)
		case used[id] && (created == false || got.ID == id):
			t.Fatalf("a registration identical to used %s merged into %s", id, got.ID)
		case !used[id] && (created || got.ID != id):
			t.Fatalf("a registration identical to unused %s after the crash: %s created=%v, want a merge", id, got.ID, created)
		}
	}
	t.Logf("%d acknowledged registrations (%d used) survived kill -9; index of %d after the checks", len(registered), len(used), s.dedup.size())
}

// crashChild registers clients until killed. Every line it prints is a
// write the store acknowledged.
func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format, args...)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				now := time.Now()
				// Time-ordered IDs, as dcr makes them.
				id := fmt.Sprintf("dcr_%020d_%02d", now.UnixNano(), g)
				key := fmt.Sprintf("key-%02d-%d", g, i)
				if _, created, err := s.CreateClient(ctx, dedupClient(id, key, now), ""); err != nil || !created {
					fmt.Fprintln(os.Stderr, "register:", created, err)
					os.Exit(2)
				}
				say("registered %s %s\n", id, key)
				if i%5 == 0 {
					if err := s.TouchClient(ctx, id, now, time.Hour); err != nil {
						fmt.Fprintln(os.Stderr, "touch:", err)
						os.Exit(2)
					}
					say("used %s\n", id)
				}
			}
		}()
	}
	wg.Wait()
}
