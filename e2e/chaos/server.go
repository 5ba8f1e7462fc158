package main

// The server under test: the real gatehouse binary as a child process,
// configured by a YAML file this program writes, started, killed with
// SIGKILL, and restarted on the same data directory.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// gatehouse is one data directory and the process serving it, if any.
type gatehouse struct {
	bin     string
	dir     string // working directory: config, logs
	dataDir string
	config  string
	base    string // the issuer, http://127.0.0.1:PORT
	admin   string // the admin API, http://127.0.0.1:PORT
	token   string // the admin token

	// wrap, when set, turns the command line into another (for example
	// to run the server inside a mount namespace).
	wrap func(args []string) []string
	// sysProc, when set, is the child's process attributes.
	sysProc *syscall.SysProcAttr

	cmd  *exec.Cmd
	done chan struct{}
	// starts counts processes started, for log names.
	starts int
}

// settings are the YAML lines beyond the common ones.
type settings []string

// newGatehouse writes the configuration for a fresh data directory under
// dir and creates the user every flow signs in as.
func newGatehouse(bin, dir string, extra settings) (*gatehouse, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	g := &gatehouse{bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"), config: filepath.Join(dir, "gatehouse.yaml"),
		base: fmt.Sprintf("http://127.0.0.1:%d", port), admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		token: "chaos-admin-token-0123456789abcdef0123456789"}
	lines := []string{
		"issuer: " + g.base,
		fmt.Sprintf("listen: 127.0.0.1:%d", port),
		"data_dir: " + g.dataDir,
		"log:\n  level: warn\n  format: json",
		fmt.Sprintf("admin:\n  listen: 127.0.0.1:%d\n  token: %s", adminPort, g.token),
		"resources:\n  - uri: " + resourceURI + "\n    scopes: [files:read, files:write]\n    default: true",
		"login:\n  max_failures_per_account: 100000\n  max_failures_per_ip: 100000",
	}
	lines = append(lines, extra...)
	if err := os.WriteFile(g.config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return g, nil
}

// dcrSettings open registration wide enough for a load test.
var dcrSettings = settings{"dcr:\n  rate_limit_per_ip: 100000000\n  rate_limit_global: 100000000"}

// addUser creates the account the flows sign in as (before any start).
func (g *gatehouse) addUser(ctx context.Context) error { return g.addUserTo(ctx, "") }

// addUserTo creates the account in dataDir instead of the configured
// data_dir (a seed that a test copies elsewhere), unless it is "".
func (g *gatehouse) addUserTo(ctx context.Context, dataDir string) error {
	args := []string{"user", "add", userName, "--password-stdin", "--config", g.config}
	if dataDir != "" {
		args = append(args, "--data-dir", dataDir)
	}
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Stdin = strings.NewReader(userPassword + "\n")
	cmd.Env = childEnv()
	cmd.SysProcAttr = g.sysProc
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gatehouse user add: %v\n%s", err, out)
	}
	return nil
}

// start runs the server and waits until /readyz answers 200.
func (g *gatehouse) start(ctx context.Context) error {
	if g.running() {
		return errors.New("gatehouse is already running")
	}
	g.starts++
	logf, err := os.Create(filepath.Join(g.dir, fmt.Sprintf("gatehouse-%03d.log", g.starts)))
	if err != nil {
		return err
	}
	args := []string{g.bin, "serve", "--config", g.config}
	if g.wrap != nil {
		args = g.wrap(args)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	attr := &syscall.SysProcAttr{}
	if g.sysProc != nil {
		c := *g.sysProc
		attr = &c
	}
	attr.Pdeathsig = syscall.SIGKILL // never outlive this program
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	g.cmd, g.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(g.done)
	return g.waitReady(ctx, 60*time.Second)
}

func (g *gatehouse) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(g.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !g.running() {
			return fmt.Errorf("gatehouse exited before it was ready; log:\n%s", g.logTail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("gatehouse not ready after %v (%v); log:\n%s", limit, err, g.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gatehouse) running() bool {
	if g.done == nil {
		return false
	}
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// pid is the server's process ID (0 when not running).
func (g *gatehouse) pid() int {
	if !g.running() {
		return 0
	}
	return g.cmd.Process.Pid
}

// kill sends SIGKILL and waits for the process to be gone.
func (g *gatehouse) kill() {
	if !g.running() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// stop asks for a graceful shutdown, then kills after a bound.
func (g *gatehouse) stop() {
	if !g.running() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		g.kill()
	}
}

// exitCode is the finished process's exit status (-1 while running).
func (g *gatehouse) exitCode() int {
	if g.running() || g.cmd == nil {
		return -1
	}
	return g.cmd.ProcessState.ExitCode()
}

// logTail is the end of the current process's log.
func (g *gatehouse) logTail() string {
	b, _ := os.ReadFile(filepath.Join(g.dir, fmt.Sprintf("gatehouse-%03d.log", g.starts)))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// dbPath is the bbolt file.
func (g *gatehouse) dbPath() string { return filepath.Join(g.dataDir, "gatehouse.db") }

// childEnv is this environment without GATEHOUSE_* variables: the server's
// settings come only from the file written here.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// buildGatehouse compiles ./cmd/gatehouse into dir (from the module root).
func buildGatehouse(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", out, "./cmd/gatehouse")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, b)
	}
	return out, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the gatehouse module")
	}
	return filepath.Dir(mod), nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
