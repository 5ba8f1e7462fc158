//go:build chaos

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultDataDirUnwritable starts the server on a data directory it
// cannot write: it must exit non-zero at once, before listening, with an
// error that names data_dir, the path and the reason.
func TestFaultDataDirUnwritable(t *testing.T) {
	requireNamespaces(t)
	ctx := context.Background()
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	cases := []struct {
		name   string
		reason string
		// prepare makes the directory; wrap and cred run the server.
		prepare func(t *testing.T, data, seed string)
		setup   []string
		cred    *syscall.Credential
	}{
		{name: "read-only file system, new data directory", reason: "read-only file system",
			setup: []string{`mount -t tmpfs -o ro,size=1m tmpfs "$data"`}},
		{name: "read-only file system, existing database", reason: "read-only file system",
			setup: []string{`mount -t tmpfs -o size=8m tmpfs "$data"`, `cp -a "$SEED"/. "$data"/`, `mount -o remount,ro "$data"`}},
		{name: "directory of another user", reason: "permission denied", cred: nobody,
			prepare: func(t *testing.T, data, _ string) { chmod(t, data, 0o755) }},
		{name: "database of another user", reason: "permission denied", cred: nobody,
			prepare: func(t *testing.T, data, seed string) {
				chmod(t, data, 0o777)
				b, err := os.ReadFile(filepath.Join(seed, "gatehouse.db"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(data, "gatehouse.db"), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			chmod(t, filepath.Dir(dir), 0o755) // nobody must reach the data directory
			chmod(t, dir, 0o755)
			g, err := newGatehouse(gatehouseBin, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			chmod(t, g.config, 0o644)
			seed := filepath.Join(dir, "seed")
			if err := g.addUserTo(ctx, seed); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(t, g.dataDir, seed)
			}
			args := []string{gatehouseBin, "serve", "--config", g.config}
			attr := &syscall.SysProcAttr{Credential: tc.cred, Pdeathsig: syscall.SIGKILL}
			if tc.setup != nil {
				args = inNamespace(g.dataDir, tc.setup...)(args)
				attr.Unshareflags = syscall.CLONE_NEWNS
			}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(cctx, args[0], args[1:]...)
			cmd.Env = append(childEnv(), "SEED="+seed)
			cmd.SysProcAttr = attr
			out, err := cmd.CombinedOutput()
			if cctx.Err() != nil {
				t.Fatalf("gatehouse did not exit within 30 s on an unwritable data directory:\n%s", out)
			}
			code := cmd.ProcessState.ExitCode()
			t.Logf("exit %d:\n%s", code, out)
			if err == nil || code == 0 {
				t.Fatalf("gatehouse started on an unwritable data directory (exit %d)", code)
			}
			for _, want := range []string{fmt.Sprintf("data_dir %s is not writable", g.dataDir), tc.reason} {
				if !strings.Contains(string(out), want) {
					t.Fatalf("the error does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), `"msg":"listening"`) {
				t.Fatal("gatehouse listened before refusing")
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
