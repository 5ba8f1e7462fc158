//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// runNode runs a driver script from e2e/node with env added, saves its
// stdout (the JSON report) and stderr to artifacts, and decodes the report
// into report. The script's own failure is reported by the caller, from the
// report, so that the message says what the client saw.
func runNode(t *testing.T, script string, env []string, report any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(nodeDir, script))
	cmd.Dir = nodeDir
	cmd.Env = append(childEnv(), env...)
	// Its own process group, killed whole on timeout (Chromium included).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("node %s: %v (%s)", script, time.Since(start).Round(time.Millisecond), exitText(err))
	name := artifactName(t)
	writeArtifact(t, name+"-report.json", stdout.Bytes())
	writeArtifact(t, name+"-stderr.log", stderr.Bytes())
	if ctx.Err() != nil {
		t.Fatalf("node %s timed out; stderr:\n%s", script, stderr.String())
	}
	line := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if jerr := json.Unmarshal(line, report); jerr != nil {
		t.Fatalf("node %s (%v) printed no JSON report (%v); stdout:\n%s\nstderr:\n%s", script, err, jerr, stdout.String(), stderr.String())
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
