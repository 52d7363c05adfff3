//go:build unix

package record

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace is how many bytes an unprivileged user may still write in dir.
func freeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// diskFull reports a full disk or an exhausted quota.
func diskFull(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }

// readOnly reports a folder that cannot be written to.
func readOnly(err error) bool { return errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS) }
