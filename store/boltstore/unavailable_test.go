package boltstore

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
)

// A commit that failed for lack of space is store.ErrUnavailable (the
// server answers 503 and the client retries); every other error keeps its
// identity. The real thing, a full tmpfs under load, is e2e/chaos's
// TestFaultDiskFull.
func TestUnavailableClassifiesNoSpace(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"write of a page", &fs.PathError{Op: "write", Path: "gatehouse.db", Err: syscall.ENOSPC}, true},
		{"quota", &fs.PathError{Op: "write", Path: "gatehouse.db", Err: syscall.EDQUOT}, true},
		// bbolt's grow formats the truncate error with %s.
		{"growing the file", fmt.Errorf("file resize error: %s", &fs.PathError{Op: "truncate", Path: "gatehouse.db", Err: syscall.ENOSPC}), true},
		{"fdatasync", fmt.Errorf("sync: %w", syscall.ENOSPC), true},
		{"not found", store.ErrNotFound, false},
		{"I/O error", &fs.PathError{Op: "write", Path: "gatehouse.db", Err: syscall.EIO}, false},
		{"read-only file system", &fs.PathError{Op: "write", Path: "gatehouse.db", Err: syscall.EROFS}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unavailable(tt.err)
			if errors.Is(got, store.ErrUnavailable) != tt.want {
				t.Fatalf("unavailable(%v) = %v; ErrUnavailable: want %v", tt.err, got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Fatalf("the cause %v is lost in %v", tt.err, got)
			}
		})
	}
	if unavailable(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}
