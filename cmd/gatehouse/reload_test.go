package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// buildBinary compiles gatehouse once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startBinary runs the built binary's serve command on a free port with
// extra args, kills it when the test ends, and waits until /readyz answers.
func startBinary(t *testing.T, bin string, args ...string) (addr string, cmd *exec.Cmd, logs *syncBuffer) {
	t.Helper()
	addr, logs = freeAddr(t), &syncBuffer{}
	cmd = exec.Command(bin, append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if status, _ := httpGet("http://" + addr + "/readyz"); status == http.StatusOK {
			return addr, cmd, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready:\n%s", logs.String())
		}
	}
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGHUPReloadsPolicy: the operator edits the file and sends SIGHUP;
// the new policy applies without a restart, a broken file is refused with
// the old policy kept, and a change that needs a restart is named.
func TestSIGHUPReloadsPolicy(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	write := func(body string) {
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := "listen: " + addr + "\nissuer: http://" + addr + "\ndata_dir: " + t.TempDir() + "\n"
	write(base + "dcr:\n  mode: open\nresources:\n  - uri: https://mcp.example.com/mcp\n")
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--config", file)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "readiness", func() bool { s, _ := httpGet("http://" + addr + "/readyz"); return s == 200 })
	metadata := func() string { _, b := httpGet("http://" + addr + "/.well-known/oauth-authorization-server"); return b }
	if !strings.Contains(metadata(), "registration_endpoint") {
		t.Fatal("open DCR not advertised")
	}

	// Close registration and add a resource scope: applied live.
	write(base + "dcr:\n  mode: closed\nresources:\n  - uri: https://mcp.example.com/mcp\n    scopes: [files:read]\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "event=config_reloaded") })
	md := metadata()
	if strings.Contains(md, "registration_endpoint") || !strings.Contains(md, "files:read") {
		t.Fatalf("after reload the metadata is %s", md)
	}
	resp, err := http.Post("http://"+addr+"/register", "application/json", strings.NewReader(`{"redirect_uris":["http://127.0.0.1/cb"]}`))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("register after switching to closed = %v %v", resp.StatusCode, err)
	}

	// A broken file is refused whole; the running policy stays.
	write(base + "dcr:\n  mode: open\n  unused_client_ttl: soon\nresources:\n  - uri: http://insecure.example/\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal", func() bool { return strings.Contains(logs.String(), "event=config_reload_refused") })
	if l := logs.String(); !strings.Contains(l, "dcr.unused_client_ttl") || !strings.Contains(l, "resources[0].uri") {
		t.Fatalf("refusal does not name every problem:\n%s", l)
	}
	if md := metadata(); strings.Contains(md, "registration_endpoint") || !strings.Contains(md, "files:read") {
		t.Fatalf("a refused reload changed the policy: %s", md)
	}

	// Changing the issuer needs a restart: applied otherwise, and named.
	write(strings.Replace(base, "issuer: http://"+addr, "issuer: http://localhost:9", 1) + "dcr:\n  mode: open\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the partial reload", func() bool { return strings.Count(logs.String(), "event=config_reloaded") == 2 })
	if !strings.Contains(logs.String(), "restart_needed=[issuer]") {
		t.Fatalf("the issuer change was not reported as needing a restart:\n%s", logs.String())
	}
	if md := metadata(); !strings.Contains(md, "registration_endpoint") || !strings.Contains(md, `"issuer":"http://`+addr) {
		t.Fatalf("after the partial reload: %s", md)
	}
}
