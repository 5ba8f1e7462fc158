//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// webhookSink receives approval notices as an operator's receiver would:
// it verifies each Standard Webhooks signature with the shared secret
// (its own HMAC, not Gatehouse's code) and passes on only verified
// notices. A notice that fails verification fails the test.
type webhookSink struct {
	srv        *httptest.Server
	secretFile string
	notices    chan map[string]any
}

func startWebhookSink(t *testing.T) *webhookSink {
	t.Helper()
	key := []byte("e2e-webhook-secret-0123456789")
	s := &webhookSink{secretFile: filepath.Join(t.TempDir(), "webhook.secret"), notices: make(chan map[string]any, 16)}
	if err := os.WriteFile(s.secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if id == "" || ts == "" || !hmac.Equal([]byte(r.Header.Get("webhook-signature")), []byte(want)) {
			t.Errorf("webhook notice does not verify: id %q timestamp %q signature %q", id, ts, r.Header.Get("webhook-signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n map[string]any
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		s.notices <- n
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// config is the approvals block that sends signed notices here.
func (s *webhookSink) config() string {
	return fmt.Sprintf("approvals:\n  webhook_url: %s/hooks/gatehouse\n  webhook_secret_file: %s\n", s.srv.URL, s.secretFile)
}

// next returns the next verified notice (the sender works in the
// background: wait for it, bounded only against a hang).
func (s *webhookSink) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case n := <-s.notices:
		return n
	case <-time.After(time.Minute):
		t.Fatal("no approval notice within a minute")
		return nil
	}
}
