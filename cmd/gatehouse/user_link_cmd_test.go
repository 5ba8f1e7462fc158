package main

import (
	"strings"
	"testing"
)

func TestUserLinkUnlink(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := gh(t, "correct horse battery\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	code, out, errOut := gh(t, "", "user", "link", "alice", "--provider", "corp", "--subject", "00u1abc", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "linked corp/00u1abc to user alice") {
		t.Fatalf("link = %d %q %q", code, out, errOut)
	}
	_, out, _ = gh(t, "", "user", "list", "--data-dir", dir)
	if !strings.Contains(out, "IDENTITIES") || !strings.Contains(out, "corp/00u1abc") {
		t.Fatalf("user list does not show the identity:\n%s", out)
	}
	// One upstream subject never maps to two users.
	gh(t, "another password\n", "user", "add", "carol", "--password-stdin", "--data-dir", dir)
	if code, _, errOut = gh(t, "", "user", "link", "carol", "--provider", "corp", "--subject", "00u1abc", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "already linked") {
		t.Fatalf("second link = %d %q", code, errOut)
	}
	if code, _, errOut = gh(t, "", "user", "unlink", "carol", "--provider", "corp", "--subject", "00u1abc", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "has no identity") {
		t.Fatalf("unlink from the wrong user = %d %q", code, errOut)
	}
	if code, out, errOut = gh(t, "", "user", "unlink", "alice", "--provider", "corp", "--subject", "00u1abc", "--data-dir", dir); code != 0 || !strings.Contains(out, "unlinked") {
		t.Fatalf("unlink = %d %q %q", code, out, errOut)
	}
	if _, out, _ = gh(t, "", "user", "list", "--data-dir", dir); strings.Contains(out, "corp/00u1abc") {
		t.Fatalf("identity still listed after unlink:\n%s", out)
	}
}
