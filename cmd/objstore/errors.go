package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/objstore-go/objstore"
)

// The exit statuses, documented in the package comment and the usage.
const (
	exitOK       = 0
	exitFail     = 1
	exitUsage    = 2
	exitNotFound = 3
	// exitInterrupted is the shell's status for a command killed by
	// SIGINT (128 + 2), which objstore gives when it stops for Ctrl-C.
	exitInterrupted = 130
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failures is the outcome of a command that went on after errors (rm -r,
// cp -r): it always exits 1, whatever the errors' classes.
type failures struct {
	n, of int
	err   error // errors.Join of them all
}

func (f *failures) Error() string {
	return fmt.Sprintf("%d of %d failed:\n%v", f.n, f.of, f.err)
}

func (f *failures) Unwrap() error { return f.err }

// exitCode is the status an error gives.
func exitCode(err error) int {
	var ue *usageError
	var fe *failures
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &fe):
		return exitFail
	case errors.As(err, &ue), errors.Is(err, objstore.ErrInvalidArgument):
		return exitUsage
	case errors.Is(err, objstore.ErrNotFound), errors.Is(err, objstore.ErrBucketNotFound), errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	}
	return exitFail
}

// fail prints err for command name and returns its exit status. An error
// from the interrupt (the only cancellation of the command's context) is
// reported as that, not as "context canceled".
func fail(stderr io.Writer, name string, err error) int {
	if errors.Is(err, context.Canceled) {
		return failInterrupted(stderr, name, "")
	}
	fmt.Fprintf(stderr, "objstore %s: %v\n", name, err)
	return exitCode(err)
}

// interrupted reports whether the command was interrupted (Ctrl-C): main
// cancels the context on SIGINT, and nothing else cancels it.
func interrupted(ctx context.Context) bool { return ctx.Err() != nil }

// failInterrupted reports an interrupt in one line, with what was or
// wasn't left behind, and returns status 130.
func failInterrupted(stderr io.Writer, name, left string) int {
	if left != "" {
		left = "; " + left
	}
	fmt.Fprintf(stderr, "objstore %s: interrupted%s\n", name, left)
	return exitInterrupted
}
