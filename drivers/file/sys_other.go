//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package file

import (
	"errors"
	"os"
)

// lockFile fails: without flock, replacing an object cannot be made
// atomic with its conditions.
func lockFile(f *os.File) error {
	return &os.PathError{Op: "flock", Path: f.Name(), Err: errors.ErrUnsupported}
}

// rmdir leaves directories in place: without unlinkat, removing only
// an empty directory cannot be done safely.
func rmdir(d *os.Root, name string) error {
	return &os.PathError{Op: "rmdir", Path: name, Err: errors.ErrUnsupported}
}
