package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Notice is the JSON body of one webhook call. Field names are a contract
// with operators' receivers: add freely, never rename.
type Notice struct {
	// Event is "client_pending".
	Event    string `json:"event"`
	ClientID string `json:"client_id"`
	// Host is the client_id's host for a CIMD client: what identifies it.
	Host string `json:"host,omitempty"`
	// Kind is static, dcr or cimd.
	Kind string `json:"kind"`
	// ClientName is the client's own claim, not verified.
	ClientName string `json:"client_name,omitempty"`
	Profile    string `json:"profile"`
	// Reason is "new" (first appearance) or "changed" (an approved
	// client's redirect URIs, keys or auth method changed).
	Reason      string    `json:"reason"`
	Fingerprint string    `json:"fingerprint"`
	RequestedAt time.Time `json:"requested_at"`
	Issuer      string    `json:"issuer"`
	// ApproveCommand and BlockCommand are the CLI commands that decide.
	ApproveCommand string `json:"approve_command"`
	BlockCommand   string `json:"block_command"`
}

// EventClientPending is the event of a client newly waiting for approval.
const EventClientPending = "client_pending"

// Config is where and how notices are sent (approvals.*).
type Config struct {
	// URL receives the notices; "" sends none.
	URL string
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Retries is how many more attempts follow a failed one.
	Retries int
	// Secret, when set, signs every request (Standard Webhooks; see
	// sign.go). nil sends unsigned notices.
	Secret []byte
}

// Outcomes reported to Deps.Observe.
const (
	OutcomeSent    = "sent"    // a receiver answered 2xx
	OutcomeRetried = "retried" // an attempt failed and another follows
	OutcomeFailed  = "failed"  // every attempt failed, or the receiver refused it (4xx)
	OutcomeDropped = "dropped" // the queue was full
)

// Deps are the webhook's collaborators; all optional.
type Deps struct {
	// Client sends the requests (default: a plain http.Client; the
	// operator chose the URL, so no SSRF rules apply).
	Client *http.Client
	// Sleep waits between attempts (default: a timer that ends with ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe is told each outcome, for metrics.
	Observe func(outcome string)
	Logger  *slog.Logger
	// Now stamps signed attempts (default time.Now).
	Now func() time.Time
	// Rand makes each notice's webhook-id (default crypto/rand).
	Rand io.Reader
}

// queueSize bounds notices waiting to be sent: a flood of new clients
// cannot grow memory; past it notices are dropped (and counted).
const queueSize = 256

// maxBackoff caps the pause between attempts.
const maxBackoff = 30 * time.Second

// Webhook sends notices in order from one background goroutine.
type Webhook struct {
	cfg    atomic.Pointer[Config]
	deps   Deps
	queue  chan Notice
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewWebhook starts the sender. Close stops it.
func NewWebhook(cfg Config, deps Deps) *Webhook {
	if deps.Client == nil {
		deps.Client = &http.Client{}
	}
	if deps.Sleep == nil {
		deps.Sleep = sleep
	}
	if deps.Observe == nil {
		deps.Observe = func(string) {}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Rand == nil {
		deps.Rand = rand.Reader
	}
	w := &Webhook{deps: deps, queue: make(chan Notice, queueSize)}
	w.cfg.Store(&cfg)
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.wg.Add(1)
	go w.run()
	return w
}

// SetConfig swaps the URL, timeout and retries (a reload); notices already
// queued go to the new URL.
func (w *Webhook) SetConfig(cfg Config) { w.cfg.Store(&cfg) }

// Notify queues n and returns at once. Without a URL it does nothing.
func (w *Webhook) Notify(n Notice) {
	if w.cfg.Load().URL == "" {
		return
	}
	select {
	case w.queue <- n:
	default:
		w.deps.Observe(OutcomeDropped)
		w.deps.Logger.Warn("approval webhook queue full: notice dropped", "client_id", n.ClientID)
	}
}

// Close stops the sender; notices not yet sent are abandoned (the queue
// in the store still lists their clients).
func (w *Webhook) Close() {
	w.cancel()
	w.wg.Wait()
}

func (w *Webhook) run() {
	defer w.wg.Done()
	for {
		select {
		case <-w.ctx.Done():
			return
		case n := <-w.queue:
			w.deliver(n)
		}
	}
}

// deliver sends one notice, retrying network errors, 5xx, 408 and 429
// with doubling pauses (1 s, 2 s, 4 s ... at most maxBackoff).
func (w *Webhook) deliver(n Notice) {
	body, err := json.Marshal(n)
	if err != nil {
		return // cannot happen: strings and a time
	}
	cfg := w.cfg.Load()
	id, err := w.noticeID()
	if err != nil {
		w.deps.Observe(OutcomeFailed)
		w.deps.Logger.Warn("approval webhook failed", "client_id", n.ClientID, "err", err)
		return
	}
	pause := time.Second
	for attempt := 0; ; attempt++ {
		retry, err := w.attempt(cfg, id, body)
		if err == nil {
			w.deps.Observe(OutcomeSent)
			w.deps.Logger.Info("approval webhook sent", "client_id", n.ClientID, "attempts", attempt+1)
			return
		}
		if !retry || attempt >= cfg.Retries {
			w.deps.Observe(OutcomeFailed)
			w.deps.Logger.Warn("approval webhook failed", "client_id", n.ClientID, "attempts", attempt+1, "err", err)
			return
		}
		w.deps.Observe(OutcomeRetried)
		if w.deps.Sleep(w.ctx, pause) != nil {
			return
		}
		pause = min(2*pause, maxBackoff)
	}
}

// attempt POSTs body once; retry says whether another attempt may help.
func (w *Webhook) attempt(cfg *Config, id string, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Approvals/1")
	if cfg.Secret != nil {
		sign(req, cfg.Secret, id, w.deps.Now(), body)
	}
	resp, err := w.deps.Client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return false, fmt.Errorf("receiver refused the notice: %s", resp.Status)
}

// noticeID is a random webhook-id, "msg_" + 128 bits in base64url.
func (w *Webhook) noticeID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(w.deps.Rand, b); err != nil {
		return "", fmt.Errorf("webhook-id: %w", err)
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
