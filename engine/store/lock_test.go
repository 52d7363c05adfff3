package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockFolder: a second lock on the same folder is refused with the
// holder's process id, and the folder can be locked again once released.
func TestLockFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by the lock
	first, err := LockFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockFolder(dir)
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second lock: %v, want a LockedError", err)
	}
	if locked.PID != os.Getpid() || locked.Dir != dir {
		t.Errorf("LockedError %+v, want process %d and folder %s", locked, os.Getpid(), dir)
	}
	if msg := err.Error(); !strings.Contains(msg, "another Chalkcast") || !strings.Contains(msg, dir) {
		t.Errorf("message %q", msg)
	}
	// Other folders are not affected.
	other, err := LockFolder(t.TempDir())
	if err != nil {
		t.Fatalf("lock of another folder: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := LockFolder(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLockFolderThatCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LockFolder(filepath.Join(file, "data"))
	var locked *LockedError
	if err == nil || errors.As(err, &locked) || !strings.Contains(err.Error(), "data folder") {
		t.Fatalf("lock under a file: %v", err)
	}
}
