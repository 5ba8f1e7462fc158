package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorder collects outcomes and pauses; sleeping is instant.
type recorder struct {
	mu       sync.Mutex
	pauses   []time.Duration
	outcomes chan string
}

func newRecorder() *recorder { return &recorder{outcomes: make(chan string, 64)} }

func (r *recorder) deps() Deps {
	return Deps{
		Sleep: func(ctx context.Context, d time.Duration) error {
			r.mu.Lock()
			r.pauses = append(r.pauses, d)
			r.mu.Unlock()
			return ctx.Err()
		},
		Observe: func(o string) { r.outcomes <- o },
	}
}

// final waits for the outcome that ends a delivery (sent or failed) and
// returns every outcome seen up to it.
func (r *recorder) final(t *testing.T) []string {
	t.Helper()
	var seen []string
	for {
		select {
		case o := <-r.outcomes:
			seen = append(seen, o)
			if o == OutcomeSent || o == OutcomeFailed {
				return seen
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no final outcome; saw %v", seen)
		}
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	var got Notice
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		if calls < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	rec := newRecorder()
	w := NewWebhook(Config{URL: srv.URL, Timeout: 5 * time.Second, Retries: 3}, rec.deps())
	defer w.Close()
	n := Notice{Event: EventClientPending, ClientID: "https://agent.example/c.json", Host: "agent.example", Kind: "cimd",
		Profile: "unknown-cimd", Reason: "new", Fingerprint: "fp", ApproveCommand: "gatehouse admin clients approve https://agent.example/c.json"}
	w.Notify(n)
	outcomes := rec.final(t)
	if len(outcomes) != 3 || outcomes[0] != OutcomeRetried || outcomes[2] != OutcomeSent {
		t.Fatalf("outcomes %v, want retried, retried, sent", outcomes)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || got.ClientID != n.ClientID || got.Host != "agent.example" || got.Event != "client_pending" || got.ApproveCommand == "" {
		t.Fatalf("%d calls, received %+v", calls, got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.pauses) != 2 || rec.pauses[0] != time.Second || rec.pauses[1] != 2*time.Second {
		t.Fatalf("pauses %v, want 1s then 2s", rec.pauses)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		calls  int
	}{
		{"server errors until the retries run out", http.StatusBadGateway, 3},
		{"a refusal is not retried", http.StatusForbidden, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			rec := newRecorder()
			w := NewWebhook(Config{URL: srv.URL, Timeout: 5 * time.Second, Retries: 2}, rec.deps())
			defer w.Close()
			w.Notify(Notice{ClientID: "x"})
			if out := rec.final(t); out[len(out)-1] != OutcomeFailed {
				t.Fatalf("outcomes %v", out)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tc.calls {
				t.Fatalf("%d attempts, want %d", calls, tc.calls)
			}
		})
	}
}

// TestNotifyNeverBlocks: a receiver that hangs neither delays Notify nor
// grows memory: the attempt times out, and past the queue's bound notices
// are dropped and counted.
func TestNotifyNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	rec := newRecorder()
	rec.outcomes = make(chan string, 2*queueSize)
	w := NewWebhook(Config{URL: srv.URL, Timeout: time.Hour, Retries: 0}, rec.deps())
	defer w.Close()
	done := make(chan struct{})
	go func() {
		for range queueSize + 10 {
			w.Notify(Notice{ClientID: "x"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked behind a hanging receiver")
	}
	dropped := 0
	for dropped < 9 {
		select {
		case o := <-rec.outcomes:
			if o == OutcomeDropped {
				dropped++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d notices dropped past the queue bound", dropped)
		}
	}
}

func TestNoURLSendsNothing(t *testing.T) {
	rec := newRecorder()
	w := NewWebhook(Config{Timeout: time.Second}, rec.deps())
	w.Notify(Notice{ClientID: "x"})
	w.Close()
	select {
	case o := <-rec.outcomes:
		t.Fatalf("outcome %s without a URL", o)
	default:
	}
}
