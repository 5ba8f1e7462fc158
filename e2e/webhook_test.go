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
	"sync"
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
	mu         sync.Mutex
	keys       [][]byte // every secret written so far, the current one last
}

func startWebhookSink(t *testing.T) *webhookSink {
	t.Helper()
	s := &webhookSink{secretFile: filepath.Join(t.TempDir(), "webhook.secret"), notices: make(chan map[string]any, 16)}
	s.rotate(t, []byte("e2e-webhook-secret-0123456789"))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		signedWith := -1
		s.mu.Lock()
		for i, key := range s.keys {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(id + "." + ts + "."))
			mac.Write(body)
			want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
			if hmac.Equal([]byte(r.Header.Get("webhook-signature")), []byte(want)) {
				signedWith = i
			}
		}
		s.mu.Unlock()
		if id == "" || ts == "" || signedWith < 0 {
			t.Errorf("webhook notice does not verify: id %q timestamp %q signature %q", id, ts, r.Header.Get("webhook-signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n map[string]any
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		n[signedWithKey] = float64(signedWith)
		s.notices <- n
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// signedWithKey is added to each notice next returns: the index of the
// secret (in the order rotate wrote them) whose signature verified.
const signedWithKey = "_signed_with"

// rotate writes key as the new secret (whsec_ form). Gatehouse uses it
// after its next reload; the sink still accepts the earlier ones, and
// tells which one signed each notice.
func (s *webhookSink) rotate(t *testing.T, key []byte) {
	t.Helper()
	if err := os.WriteFile(s.secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
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
