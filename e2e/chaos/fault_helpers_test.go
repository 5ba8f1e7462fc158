//go:build chaos

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireNamespaces skips unless this process may make a private mount
// namespace (root, as in CI).
func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs in a private mount namespace (CI runs as root)")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("mount namespaces are not available here: %v %s", err, out)
	}
}

// inNamespace runs the server through sh in the private mount namespace
// Go makes for the child (Unshareflags, with / made private), after the
// shell lines in setup have run: they see the data directory as $data.
func inNamespace(data string, setup ...string) func(args []string) []string {
	script := "set -eu\ndata=\"$1\"; shift\n" + strings.Join(setup, "\n") + "\nexec \"$@\""
	return func(args []string) []string {
		return append([]string{"sh", "-c", script, "sh", data}, args...)
	}
}
