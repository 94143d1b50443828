//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package file

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on f, waiting for it. Closing f
// releases it.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), unix.LOCK_EX)
			if ferr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return nil
}

// rmdir removes the directory name in d if it is an empty directory, and
// never anything else: unlike os.Root.Remove, it cannot remove a file
// that took an emptied directory's place.
func rmdir(d *os.Root, name string) error {
	f, err := d.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	err = rc.Control(func(fd uintptr) {
		for {
			rerr = unix.Unlinkat(int(fd), name, unix.AT_REMOVEDIR)
			if rerr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if rerr != nil {
		return &os.PathError{Op: "rmdir", Path: name, Err: rerr}
	}
	return nil
}
