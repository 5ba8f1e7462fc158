package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// errRefusedSilently ends a command that already printed why it failed.
var errRefusedSilently = errors.New("refused")

// usageError marks a problem with the command line or configuration
// (exit status 2), as opposed to a failure while running (status 1).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run executes the CLI and returns the exit status; tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	root := newRootCommand(&cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == errRefusedSilently {
		return ee.code // the command already explained itself
	}
	fmt.Fprintln(stderr, "gatehouse:", err)
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// cliEnv is the process environment a command runs in.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	configFile     string
	// onListen, if set, is told the listener's address (tests use port 0).
	onListen func(net.Addr)
}

func newRootCommand(env *cliEnv) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "OAuth 2.1 authorization server for MCP: CIMD first, DCR fallback",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.PersistentFlags().StringVar(&env.configFile, "config", "", "YAML configuration file (default: $GATEHOUSE_CONFIG)")
	RegisterConfigFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(
		newServeCommand(env),
		newConfigCommand(env),
		newKeysCommand(env),
		newUserCommand(env),
		newDCRCommand(env),
		newClientsCommand(env),
		newCIMDCommand(env),
		newAdminCommand(env),
		newStoreCommand(env),
	)
	return root
}
