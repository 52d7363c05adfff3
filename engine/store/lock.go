package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockName is the lock file in the data folder. It stays there after
// Close: removing it would let a third process lock a new file while a
// second one still waits on the old one.
const lockName = "chalkcast.lock"

// Lock is held on a data folder by the one Chalkcast that uses it, so that
// a second one started on the same folder refuses to start instead of
// overwriting the first one's streams and keys. The operating system
// releases it when the process ends, however it ends (even kill -9).
type Lock struct {
	f *os.File
}

// LockedError says that another process holds the data folder's lock.
type LockedError struct {
	Dir string
	PID int // the holder's process id; 0 when it could not be read
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another Chalkcast (process %d) is already using the data folder %s", e.PID, e.Dir)
	}
	return fmt.Sprintf("another Chalkcast is already using the data folder %s", e.Dir)
}

// LockFolder takes dir's lock without waiting, creating dir if needed. It
// returns a *LockedError when another process holds it.
func LockFolder(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	busy, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if busy {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Dir: dir, PID: pid}
	}
	// The process id only makes the other start's message more useful:
	// failing to write it is no reason not to start.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// Close releases the lock.
func (l *Lock) Close() error {
	unlock(l.f)
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", l.f.Name(), err)
	}
	return nil
}
