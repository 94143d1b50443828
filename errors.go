package objstore

import (
	"errors"
	"strconv"
	"strings"

	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/redact"
)

// The error classes. Every error a store returns for a known condition
// wraps exactly one of them; test with errors.Is. They are the classes of
// package driver, so a driver's errors match them too.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = driver.ErrNotFound
	// ErrBucketNotFound: the bucket or container does not exist. It is not
	// ErrNotFound.
	ErrBucketNotFound = driver.ErrBucketNotFound
	// ErrExists: IfAbsent was set and the key exists.
	ErrExists = driver.ErrExists
	// ErrPrecondition: an IfMatch condition did not hold.
	ErrPrecondition = driver.ErrPrecondition
	// ErrNotModified: an IfNoneMatch condition matched.
	ErrNotModified = driver.ErrNotModified
	// ErrInvalidArgument: a key, option, body or URL is not valid. Nothing
	// was stored. objstore rejects what the contract can tell before it
	// sends anything; what only the server can judge (a body over its size
	// limit, say) is refused by the server with this class too.
	ErrInvalidArgument = driver.ErrInvalidArgument
	// ErrInvalidRange: a range starts past the end of the object.
	ErrInvalidRange = driver.ErrInvalidRange
	// ErrPermission: the credentials are valid but may not do this.
	ErrPermission = driver.ErrPermission
	// ErrUnauthenticated: the credentials are missing, wrong or expired.
	ErrUnauthenticated = driver.ErrUnauthenticated
	// ErrUnsupported: the driver or its backend cannot do this.
	ErrUnsupported = driver.ErrUnsupported
	// ErrThrottled: the service kept refusing for load after retries.
	ErrThrottled = driver.ErrThrottled
)

var errReaderClosed = errors.New("objstore: read from a closed Reader")

// Error is the error every driver returns: who failed (Driver, Op, Key),
// the contract class (Kind) and the underlying cause (Err), such as the
// SDK's own error. errors.Is matches Kind, and errors.As reaches Err.
type Error struct {
	Driver string // the URL scheme: "mem", "s3", "azblob"
	Op     string // the operation: "stat", "get", "put", "delete", "list", "copy", "open"
	Key    string // the key as the caller gave it; empty for store-wide operations
	Kind   error  // one of the Err values of this package, or nil when unknown
	Err    error  // the cause; may be nil
	Hint   string // what the caller can do about it; empty for the class's default
	// Attempts is how many HTTP attempts the operation's last request
	// made, when it was more than one: the retries were spent. A Get's
	// count includes the GETs its Reader sent to resume the body (rule
	// R1 of docs/SEMANTICS.md).
	Attempts int
}

// Error reads like `s3 put "a/b": object already exists: <cause> (hint)`.
// Secrets in the cause's text are redacted.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Driver)
	if e.Op != "" {
		b.WriteByte(' ')
		b.WriteString(e.Op)
	}
	if e.Key != "" {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(e.Key))
	}
	b.WriteString(": ")
	wrote := false
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
		wrote = true
	}
	if e.Err != nil {
		if wrote {
			b.WriteString(": ")
		}
		b.WriteString(redact.String(e.Err.Error()))
		wrote = true
	}
	if !wrote {
		b.WriteString("unknown error")
	}
	if e.Attempts > 1 {
		b.WriteString(" (after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts)")
	}
	hint := e.Hint
	if hint == "" {
		hint = defaultHints[e.Kind]
	}
	if hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the class and the cause, so that errors.Is and errors.As
// see both.
func (e *Error) Unwrap() []error {
	switch {
	case e.Kind == nil && e.Err == nil:
		return nil
	case e.Kind == nil:
		return []error{e.Err}
	case e.Err == nil:
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

var defaultHints = map[error]string{
	ErrBucketNotFound:  "check the bucket or container name in the URL, and that it was created",
	ErrPermission:      "the credentials were accepted but lack permission for this operation",
	ErrUnauthenticated: "check the credentials the driver resolved; see the driver's documentation for the variables it reads",
	ErrThrottled:       "the service is overloaded; retry later or lower the request rate",
}

// invalidArgument returns an ErrInvalidArgument error for driver, op and
// key whose message is msg: input refused before anything is sent.
func invalidArgument(driver, op, key, msg string) *Error {
	return &Error{Driver: driver, Op: op, Key: key, Kind: ErrInvalidArgument, Err: errors.New(msg)}
}
