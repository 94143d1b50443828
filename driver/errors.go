package driver

import (
	"errors"
	"strconv"
	"strings"
)

// The error classes. A driver's error for a known condition wraps exactly
// one of them; objstore re-exports them, so errors.Is(err,
// objstore.ErrNotFound) sees a driver's driver.ErrNotFound.
var (
	ErrNotFound        = errors.New("object not found")
	ErrBucketNotFound  = errors.New("bucket not found")
	ErrExists          = errors.New("object already exists")
	ErrPrecondition    = errors.New("precondition failed")
	ErrNotModified     = errors.New("not modified")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrInvalidRange    = errors.New("invalid range")
	ErrPermission      = errors.New("permission denied")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrUnsupported     = errors.New("unsupported")
	ErrThrottled       = errors.New("throttled")
)

// Error is a driver's failure with its class and, optionally, what the
// caller can do about it. The portable store turns it into an
// *objstore.Error that adds the driver, operation and key. A driver may
// also return any error that wraps a class, or none.
type Error struct {
	Kind error  // one of the Err values, or nil when unknown
	Err  error  // the cause, such as the SDK's error; may be nil
	Hint string // what to do about it; "" for the class's default
	// Attempts is how many HTTP attempts the failed request made, when
	// more than one.
	Attempts int
}

// Errorf returns an *Error of class kind whose cause reads msg.
func Errorf(kind error, msg string) *Error {
	return &Error{Kind: kind, Err: errors.New(msg)}
}

func (e *Error) Error() string {
	var parts []string
	if e.Kind != nil {
		parts = append(parts, e.Kind.Error())
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	s := strings.Join(parts, ": ")
	if e.Attempts > 1 {
		s += " (after " + strconv.Itoa(e.Attempts) + " attempts)"
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the class and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}
