package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestCIMDCheckCommand lints documents served over real TLS on 127.0.0.1
// through the server's own fetcher and policy.
func TestCIMDCheckCommand(t *testing.T) {
	docs := map[string]map[string]any{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=600")
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	docs["/good.json"] = map[string]any{"client_id": srv.URL + "/good.json", "client_name": "Good Agent",
		"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}}
	docs["/secret.json"] = map[string]any{"client_id": srv.URL + "/secret.json", "client_name": "Leaky",
		"redirect_uris": []string{"http://127.0.0.1/callback"}, "client_secret": "oops"}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	docs["/service.json"] = map[string]any{"client_id": srv.URL + "/service.json", "client_name": "Agent service",
		"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "private_key_jwt",
		"grant_types": []string{"authorization_code", "client_credentials"},
		"jwks":        jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}}
	dev := []string{"--cimd-allow-private-addresses", "--cimd-extra-ca-file", caFile}

	code, out, errOut := gh(t, "", append([]string{"cimd", "check", srv.URL + "/good.json", "--redirect-uri", "http://127.0.0.1:9999/callback"}, dev...)...)
	if code != 0 {
		t.Fatalf("good document = %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"✓", "~", "device_code", "Good Agent", "10m"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = gh(t, "", append([]string{"cimd", "check", srv.URL + "/secret.json"}, dev...)...)
	if code != 1 || !strings.Contains(out, "✗") || !strings.Contains(out, "client_secret") {
		t.Fatalf("document with a secret = %d:\n%s", code, out)
	}
	// client_credentials stays closed to CIMD clients unless the operator
	// opens it; the check says so without refusing the client.
	const closedNote = "the document lists client_credentials, but client profile default refuses it"
	code, out, _ = gh(t, "", append([]string{"cimd", "check", srv.URL + "/service.json"}, dev...)...)
	if code != 0 || !strings.Contains(out, closedNote) {
		t.Fatalf("client_credentials document = %d, want accepted with the note:\n%s", code, out)
	}
	code, out, _ = gh(t, "", append([]string{"cimd", "check", srv.URL + "/service.json", "--cimd-allow-client-credentials"}, dev...)...)
	if code != 0 || strings.Contains(out, closedNote) {
		t.Fatalf("with cimd.allow_client_credentials = %d, want no note:\n%s", code, out)
	}
	// Without the development settings, loopback is refused as SSRF.
	code, out, _ = gh(t, "", "cimd", "check", srv.URL+"/good.json", "--cimd-extra-ca-file", caFile)
	if code != 1 || !strings.Contains(out, "loopback") {
		t.Fatalf("loopback without allow_private_addresses = %d:\n%s", code, out)
	}
}
