package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig: any file content yields a configuration or problems,
// never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add("issuer: https://a.example\n")
	f.Add("tls: {cert_file: [1, 2]}\n")
	f.Add("trusted_proxies: [[[]]]\n")
	f.Add("a: &a [x]\nb: *a\n")
	f.Add("login:\n  session_ttl: 1e400h\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		LoadConfig(p, nil, nil)
	})
}
