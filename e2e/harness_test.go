//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// Paths shared by every test, set once by TestMain.
var (
	e2eDir       string // this directory
	repoRoot     string
	artifactsDir string // e2e/artifacts: process logs, driver reports, screenshots
	nodeDir      string // e2e/node: the Node drivers and their pinned packages
	gatehouseBin string
	demoMCPBin   string
	// cimdInBuild reports whether this gatehouse has the cimd.* settings.
	cimdInBuild bool
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	e2eDir = wd
	repoRoot = filepath.Dir(wd)
	artifactsDir = filepath.Join(wd, "artifacts")
	nodeDir = filepath.Join(wd, "node")
	// Artifacts describe the last run only.
	if err := os.RemoveAll(artifactsDir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// e2e/run.sh has just run the setup; a bare `go test -tags e2e` runs it
	// here (it is idempotent and quick when everything is installed).
	if os.Getenv("GATEHOUSE_E2E_SKIP_SETUP") == "" {
		cmd := exec.Command(filepath.Join(wd, "setup.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: setup.sh failed:", err)
			return 1
		}
	}
	bin, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(bin)
	gatehouseBin = filepath.Join(bin, "gatehouse")
	demoMCPBin = filepath.Join(bin, "gatehouse-demo-mcp")
	for out, pkg := range map[string]string{gatehouseBin: "./cmd/gatehouse", demoMCPBin: "./cmd/gatehouse-demo-mcp"} {
		cmd := exec.Command(goTool(), "build", "-o", out, pkg)
		cmd.Dir = repoRoot
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n", pkg, err)
			return 1
		}
	}
	refCmd := exec.Command(gatehouseBin, "config", "reference")
	refCmd.Env = childEnv()
	ref, err := refCmd.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: gatehouse config reference:", err)
		return 1
	}
	cimdInBuild = bytes.Contains(ref, []byte("cimd.enabled"))
	// pgtest.Main stops the PostgreSQL cluster the multi-instance tests
	// start (when they do).
	return pgtest.Main(m)
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// childEnv is this process's environment without GATEHOUSE_* variables:
// the processes under test take their settings from the files the tests
// write, not from the developer's shell (and gatehouse refuses unknown
// GATEHOUSE_* variables, such as this suite's own GATEHOUSE_E2E_*).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before ours binds it; on this test machine that does not happen.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a child process whose output goes to a log file in artifacts.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProc starts a process in its own process group (so that stopping it
// also stops anything it started) that the kernel kills if the test binary
// dies. It is stopped when the test ends, whatever the outcome.
func startProc(t testing.TB, name string, env []string, stdin io.Reader, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(artifactsDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(childEnv(), env...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = logFile, logFile, stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process group to shut down gracefully, then kills it.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// logTail is the end of the process's log, for failure messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers 200, failing early if p exits.
func waitHTTP(t testing.TB, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() {
			t.Fatalf("%s exited before %s answered 200 (%v); log:\n%s", p.name, url, p.waitErr, p.logTail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not ready after 30s (last error %v); log:\n%s", p.name, url, err, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runCmd runs a short command to completion, with its output in the failure.
func runCmd(t testing.TB, stdin string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeArtifact saves data under artifacts for debugging.
func writeArtifact(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(artifactsDir, name), data, 0o644); err != nil {
		t.Errorf("save artifact %s: %v", name, err)
	}
}

// artifactName turns a test name into a file name prefix.
func artifactName(t testing.TB) string {
	return strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(t.Name())
}
