package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminClientSaysWhatIsMissing: an admin command without the running
// server's configuration, or with a listener but no token, says what to
// give it instead of claiming the admin API is off.
func TestAdminClientSaysWhatIsMissing(t *testing.T) {
	if _, err := newAdminClient(Config{}); err == nil || !strings.Contains(err.Error(), "--config FILE") {
		t.Errorf("no admin.listen: %v; want advice to pass the server's --config", err)
	}
	cfg := Config{}
	cfg.Admin.Listen = "127.0.0.1:9090"
	if _, err := newAdminClient(cfg); err == nil || !strings.Contains(err.Error(), "no admin token") || !strings.Contains(err.Error(), "127.0.0.1:9090") {
		t.Errorf("no token: %v", err)
	}
	cfg.Admin.TokenFile = filepath.Join(t.TempDir(), "missing.token")
	if _, err := newAdminClient(cfg); err == nil || !strings.Contains(err.Error(), "admin.token_file") || !strings.Contains(err.Error(), "missing.token") {
		t.Errorf("unreadable token file: %v", err)
	}
	os.WriteFile(cfg.Admin.TokenFile, []byte(testAdminToken+"\n"), 0o600)
	a, err := newAdminClient(cfg)
	if err != nil || a.token != testAdminToken || a.base != "http://127.0.0.1:9090" {
		t.Errorf("complete settings: %+v %v", a, err)
	}
}
