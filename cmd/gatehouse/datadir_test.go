package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data directory Gatehouse cannot write stops `serve` before it listens,
// with a non-zero exit and an error naming data_dir and the path. The
// root-only cases (a read-only mount, another user's directory) run as
// real processes in e2e/chaos's TestFaultDataDirUnwritable.
func TestServeRefusesAnUnwritableDataDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"a file in the way": filepath.Join(file, "data")}
	if os.Geteuid() != 0 { // root writes anywhere whatever the mode
		locked := filepath.Join(base, "locked")
		if err := os.Mkdir(locked, 0o500); err != nil {
			t.Fatal(err)
		}
		cases["no write permission"] = locked
	}
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := gh(t, "", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
			if code == 0 {
				t.Fatalf("serve started on %s", dir)
			}
			for _, want := range []string{"data_dir " + dir, "is not writable", "set data_dir"} {
				if !strings.Contains(errOut, want) {
					t.Fatalf("stderr lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
}

func TestDataDirErrorLeavesOtherErrorsAlone(t *testing.T) {
	other := os.ErrDeadlineExceeded
	if got := dataDirError("/x", other); got != other {
		t.Fatalf("dataDirError changed an unrelated error: %v", got)
	}
	if dataDirError("/x", nil) != nil {
		t.Fatal("nil must stay nil")
	}
}
