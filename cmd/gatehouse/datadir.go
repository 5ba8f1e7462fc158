package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// dataDirError turns a data directory Gatehouse cannot write (no
// permission, a read-only mount, a file in the way) into a start-up error
// that names the directory and says what to do; other errors are returned
// unchanged. It is checked when the store opens, before the listener, so
// a misconfigured deployment fails at once with a non-zero exit instead
// of answering requests it cannot keep.
func dataDirError(dir string, err error) error {
	var reason string
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EROFS):
		reason = "it is on a read-only file system"
	case errors.Is(err, fs.ErrPermission):
		reason = fmt.Sprintf("permission denied for the user running gatehouse (uid %d)", os.Geteuid())
	case errors.Is(err, syscall.ENOTDIR):
		reason = "it, or one of its parents, is not a directory"
	default:
		return err
	}
	shown := dir
	if abs, aerr := filepath.Abs(dir); aerr == nil && abs != dir {
		shown = fmt.Sprintf("%s (%s)", dir, abs)
	}
	var pe *fs.PathError
	detail := err.Error()
	if errors.As(err, &pe) {
		detail = fmt.Sprintf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	return fmt.Errorf("data_dir %s is not writable: %s (%s)\n"+
		"  Gatehouse keeps its database there and must create and write it. Make the directory writable by this user, "+
		"mount it read-write, or set data_dir (GATEHOUSE_DATA_DIR, --data-dir) to a writable directory", shown, reason, detail)
}
