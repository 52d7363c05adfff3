package store

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockAt is where the one locked byte is: at 4 GiB (OffsetHigh 1), beyond
// the process id the file holds, because Windows locks are mandatory and a
// locked range could not be read by the Chalkcast that is refused.
func lockAt() *windows.Overlapped { return &windows.Overlapped{OffsetHigh: 1} }

// tryLock takes an exclusive lock on f, reporting busy when another handle
// holds it. Windows releases it when the process ends.
func tryLock(f *os.File) (busy bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockAt())
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

func unlock(f *os.File) {
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockAt())
}
