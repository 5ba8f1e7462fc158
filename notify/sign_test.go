package notify

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification: a receiver using any
// of its libraries accepts what Gatehouse signs.
func TestSignatureMatchesStandardWebhooksExample(t *testing.T) {
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		ok         bool
		size       int
	}{
		{"standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", true, 24},
		{"plain text", "  a long shared secret value  ", true, 26},
		{"empty", "", false, 0},
		{"blank", " \n\t", false, 0},
		{"short", "0123456789abcde", false, 0},
		{"bad base64", "whsec_not base64!!", false, 0},
		{"short after decoding", "whsec_AAAA", false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseSecret(tt.text)
			if (err == nil) != tt.ok || (tt.ok && len(key) != tt.size) {
				t.Fatalf("ParseSecret(%q) = %d bytes, %v; want ok=%v, %d bytes", tt.text, len(key), err, tt.ok, tt.size)
			}
		})
	}
}

// A signed notice that is retried keeps its webhook-id (receivers drop
// duplicates by it) and is stamped and signed again at each attempt; the
// receiver here verifies with the secret as Standard Webhooks describes.
func TestSignedNoticeRetried(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	clock := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	var ids, stamps []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		id, ts := r.Header.Get(HeaderID), r.Header.Get(HeaderTimestamp)
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || r.Header.Get(HeaderSignature) != Signature(secret, id, time.Unix(sec, 0), body) {
			t.Errorf("attempt %d: signature %q does not verify (id %q, timestamp %q)", calls, r.Header.Get(HeaderSignature), id, ts)
		}
		ids, stamps = append(ids, id), append(stamps, ts)
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	rec := newRecorder()
	deps := rec.deps()
	var clockMu sync.Mutex
	deps.Now = func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	deps.Rand = bytes.NewReader(bytes.Repeat([]byte{7}, 64))
	w := NewWebhook(Config{URL: srv.URL, Timeout: time.Minute, Retries: 2, Secret: secret}, deps)
	defer w.Close()
	w.Notify(Notice{Event: EventClientPending, ClientID: "https://app.example/client.json"})
	if got := rec.final(t); got[len(got)-1] != OutcomeSent {
		t.Fatalf("outcomes %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] || ids[0] != "msg_BwcHBwcHBwcHBwcHBwcHBw" {
		t.Fatalf("webhook-ids %q: want the same random id on both attempts", ids)
	}
	if stamps[0] == stamps[1] {
		t.Fatalf("both attempts stamped %s: each attempt is signed at its own time", stamps[0])
	}
}

// Without a secret nothing is signed (the receiver may rely on a secret
// URL instead).
func TestUnsignedNotice(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer srv.Close()
	rec := newRecorder()
	w := NewWebhook(Config{URL: srv.URL, Timeout: time.Minute}, rec.deps())
	defer w.Close()
	w.Notify(Notice{Event: EventClientPending, ClientID: "c"})
	rec.final(t)
	h := <-got
	for _, k := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		if h.Get(k) != "" {
			t.Fatalf("unsigned notice carries %s: %q", k, h.Get(k))
		}
	}
}
