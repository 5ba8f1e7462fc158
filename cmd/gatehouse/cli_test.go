package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// gh runs the CLI in-process and returns its exit status and output.
func gh(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := gh(t, "correct horse battery\n", "user", "add", "Alice", "--password-stdin", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "created user alice") {
		t.Fatalf("user add = %d %q %q", code, out, errOut)
	}
	if code, _, errOut = gh(t, "another password\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate add = %d %q", code, errOut)
	}
	if code, _, errOut = gh(t, "short\n", "user", "add", "bob", "--password-stdin", "--data-dir", dir); code != 2 || !strings.Contains(errOut, "at least 8") {
		t.Fatalf("short password = %d %q", code, errOut)
	}
	if code, _, errOut = gh(t, "long enough pw\n", "user", "add", "bad name", "--password-stdin", "--data-dir", dir); code != 2 || !strings.Contains(errOut, "may contain only") {
		t.Fatalf("bad name = %d %q", code, errOut)
	}
	if code, _, errOut = gh(t, "", "user", "add", "carol", "--data-dir", dir); code != 2 || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("no terminal and no --password-stdin = %d %q", code, errOut)
	}
	gh(t, "bob's password\n", "user", "add", "bob", "--password-stdin", "--data-dir", dir)
	code, out, _ = gh(t, "", "user", "list", "--data-dir", dir)
	if code != 0 || !regexp.MustCompile(`(?s)NAME.*alice\s+usr_\w+.*bob\s+usr_`).MatchString(out) {
		t.Fatalf("user list = %d\n%s", code, out)
	}
	if code, out, _ = gh(t, "a new password\r\n", "user", "passwd", "alice", "--password-stdin", "--data-dir", dir); code != 0 {
		t.Fatalf("passwd = %d %s", code, out)
	}
	// The new password (CRLF stripped) verifies; the old one does not.
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.UserByName(context.Background(), "alice")
	st.Close()
	// The default parameters themselves (m=65536,t=2,p=1) are pinned by
	// the server package; this process makes them cheap (TestMain).
	p := server.DefaultPasswordParams
	if want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.MemoryKiB, p.Time, p.Threads); !strings.HasPrefix(u.PasswordHash, want) {
		t.Fatalf("hash = %q, want argon2id with the default parameters (%s)", u.PasswordHash, want)
	}
	if code, _, _ = gh(t, "", "user", "delete", "bob", "--data-dir", dir); code != 0 {
		t.Fatal("delete failed")
	}
	if code, _, errOut = gh(t, "", "user", "delete", "bob", "--data-dir", dir); code != 1 || !strings.Contains(errOut, `no user named "bob"`) {
		t.Fatalf("delete missing = %d %q", code, errOut)
	}
	if _, out, _ = gh(t, "", "user", "list", "--data-dir", dir); strings.Contains(out, "bob") {
		t.Fatalf("bob still listed:\n%s", out)
	}
}

func TestCommandsFailFastWhileServerHoldsTheStore(t *testing.T) {
	dir := t.TempDir()
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, args := range [][]string{
		{"user", "list"}, {"user", "add", "dave", "--password-stdin"}, {"keys", "rotate"},
	} {
		start := time.Now()
		code, _, errOut := gh(t, "a long password\n", append(args, "--data-dir", dir)...)
		if code != 1 || !strings.Contains(errOut, "is another gatehouse running?") {
			t.Fatalf("%v while locked = %d %q", args, code, errOut)
		}
		// The store's lock timeout is a second; the bound is far above it,
		// and far below forever, so a loaded machine cannot fail it but a
		// command that waits for the lock without a timeout does.
		if d := time.Since(start); d > time.Minute {
			t.Fatalf("%v took %v: it must fail fast, not hang", args, d)
		}
	}
}

func TestConfigCheckCommand(t *testing.T) {
	file := writeFile(t, "ok.yaml", "issuer: https://auth.example.com\nlisten: 0.0.0.0:9000\n")
	code, out, errOut := gh(t, "", "config", "check", "--config", file)
	if code != 0 || !strings.Contains(errOut, "configuration OK") {
		t.Fatalf("config check = %d %q", code, errOut)
	}
	if !strings.Contains(out, `issuer: "https://auth.example.com" # from `+file+":1") || !strings.Contains(out, "access_token_ttl: 10m0s") {
		t.Fatalf("output:\n%s", out)
	}
	code, _, errOut = gh(t, "", "config", "check", "--issuer", "http://auth.example.com", "--listen", "x")
	if code != 2 || !strings.Contains(errOut, "2 problems") || !strings.Contains(errOut, "issuer (flag --issuer)") {
		t.Fatalf("bad config check = %d %q", code, errOut)
	}
}

// startServe runs `gatehouse serve` in-process and returns its base URL and
// a stop function that waits for the shutdown.
func startServe(t *testing.T, dir string, mutate ...func(*Config)) (string, func()) {
	t.Helper()
	cfg := Defaults()
	cfg.DataDir = dir
	for _, m := range mutate {
		m(&cfg)
	}
	return startServeConfig(t, cfg)
}

// startServeConfig is startServe with a whole configuration (its listen
// address is replaced by a free loopback port).
func startServeConfig(t *testing.T, cfg Config) (string, func()) {
	t.Helper()
	addr := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, onListen: func(a net.Addr) { addr <- a }}
	cfg.Listen = "127.0.0.1:0"
	scheme := "http://"
	if cfg.TLS.CertFile != "" {
		scheme = "https://"
	}
	go func() { done <- serve(ctx, env, cfg, func() (Config, []Problem) { return cfg, nil }) }()
	select {
	case a := <-addr:
		return scheme + a.String(), func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	return "", nil
}

func activeKID(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	return set.Keys[0].Kid
}

// TestRestartKeepsUsersAndKeys is the foundation's "done when": a user is
// created, signs in, and after a restart both the user and the key ID are
// unchanged.
func TestRestartKeepsUsersAndKeys(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := gh(t, "correct horse battery\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	base, stop := startServe(t, dir)
	kid := activeKID(t, base)
	stop()

	base, stop = startServe(t, dir)
	defer stop()
	if got := activeKID(t, base); got != kid {
		t.Fatalf("kid after restart = %s, want %s", got, kid)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if token == nil {
		t.Fatalf("no csrf token:\n%s", page)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"csrf_token": {string(token[1])}, "username": {"alice"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after restart = %d", resp.StatusCode)
	}
}

// TestSIGTERMShutsDownGracefully runs the real binary and stops it the way
// an init system does.
func TestSIGTERMShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	_, cmd, logs := startBinary(t, buildBinary(t), "--data-dir", dir)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("no exit within a minute of SIGTERM")
	}
	if !strings.Contains(logs.String(), "gatehouse stopped") {
		t.Errorf("log lacks the stop line:\n%s", logs.String())
	}
	// The lock is released: the store opens at once.
	st, err := boltstore.Open(dir, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("store still locked after exit: %v", err)
	}
	st.Close()
}
