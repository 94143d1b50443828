package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/objstore-go/objstore/internal/budget"
)

// maxResumes is how many times one resumable Reader reopens its body after
// a network failure, unless the Get's context carries a budget from
// [withRetryBudget]. Every reopen attempt counts, whether its GET succeeds
// or not.
const maxResumes = 3

// reopenFunc sends a GET for the length bytes of the
// object starting at offset, pinned to etag with If-Match, and returns the
// body of exactly those bytes. length is at least 1. When the object no
// longer has that ETag it returns an *Error of class ErrPrecondition; any
// other failure is returned as the driver would return it from Get.
type reopenFunc func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error)

// newResumableReader is for the portable store: like [NewReader], it returns a Reader
// that serves body as the bytes [offset, offset+length) of the object
// described by attrs and insists on exactly length bytes. In addition, when
// body fails midway with a network error (see below), the Reader closes it
// and calls reopen for the bytes not yet served, pinned to attrs.ETag, and
// goes on reading from the new body. Bytes already served are never served
// again, and because the reopen is pinned to the ETag the Reader never
// mixes bytes of two versions: when the object changed, reopen fails with
// ErrPrecondition and Read returns that error.
//
// A Reader resumes at most 3 times in all, or as many times as a budget
// that ctx carries from [withRetryBudget]. The built-in drivers count
// HTTP attempts instead: the first GET's, its retries' and each
// resumption's draw on one budget of MaxRetries+1, so a Get makes at most
// MaxRetries+1 HTTP attempts however often its body breaks (rule R1 of
// docs/SEMANTICS.md). When the budget is spent, or reopen fails with an
// error that is not itself a network error, Read returns the last error,
// an *Error whose Attempts says how many attempts were made, and keeps
// returning it. ctx is the context of the Get: once it is done the Reader
// does not resume, and Read returns an error that matches ctx.Err() with
// errors.Is. With an empty attrs.ETag or a nil reopen, the Reader behaves
// as one from NewReader.
//
// The errors a Reader resumes after are a body that ended before length
// bytes ([io.ErrUnexpectedEOF], or io.EOF too early), a failed read or write
// on the connection (*net.OpError: reset, aborted, broken pipe, closed), a
// timeout (a net.Error whose Timeout method reports true, or one matching
// os.ErrDeadlineExceeded, such as a driver's own read timeout), and an
// HTTP/2 stream reset or a lost HTTP/2 connection. It never resumes after
// a context's error or an *Error of a known class.
func newResumableReader(ctx context.Context, driver string, body io.ReadCloser, attrs Attrs, offset, length int64, reopen reopenFunc) *Reader {
	r := NewReader(body, attrs, offset, length)
	r.drv = driver
	if reopen != nil && attrs.ETag != "" && ctx != nil {
		r.rctx, r.reopen = ctx, reopen
	}
	return r
}

// resumer returns the state of r's resumptions, made on first use from
// the budget r's context carries.
func (r *Reader) resumer() *resumer {
	if r.reopen == nil && r.src != nil {
		r.reopen = r.src.reopen(r.Attrs.Key, r.full)
	}
	if r.resume == nil {
		n, ok := budget.Resumes(r.rctx)
		if !ok {
			n = maxResumes
		}
		r.resume = &resumer{ctx: r.rctx, reopen: r.reopen, left: n, budget: n, driver: r.drv, attempts: budget.From(r.rctx)}
	}
	return r.resume
}

// resumer holds a resumable Reader's state.
type resumer struct {
	ctx    context.Context
	reopen reopenFunc
	left   int    // resumptions left
	budget int    // resumptions allowed
	driver string // for the error of a read given up on; "" leaves the cause bare
	// attempts, when the driver's pipeline put it in ctx, is the budget
	// the Get's requests spent and its resumptions spend too: the Reader
	// resumes only while it has attempts left, and reports how many were
	// made. Each reopen spends what its own request takes, no more.
	attempts *budget.Budget
}

// spent reports whether the Reader may not resume any more.
func (rs *resumer) spent() bool {
	return rs.left <= 0 || rs.attempts != nil && rs.attempts.Left() <= 0
}

// made is the number of HTTP attempts the Get and its resumptions made.
func (rs *resumer) made() int {
	if rs.attempts != nil {
		return rs.attempts.Used()
	}
	return 1 + rs.budget - rs.left
}

// resumeAfter replaces r's broken body, which failed with cause, by a new
// one for the bytes not yet served. It returns nil when r can read on;
// otherwise the error to report, which r's body then keeps returning.
func (r *Reader) resumeAfter(cause error) error {
	r.resumer()
	ctx := r.resume.ctx
	for {
		if cerr := ctx.Err(); cerr != nil {
			if !errors.Is(cause, cerr) {
				cause = fmt.Errorf("%w: %w", cerr, cause)
			}
			break
		}
		if r.resume.spent() || !resumable(cause) {
			break
		}
		r.resume.left--
		r.body.Close()
		r.body = failedBody{cause}
		body, err := r.resume.reopen(ctx, r.Offset+r.read, r.Length-r.read, r.Attrs.ETag)
		if err == nil {
			r.body = body
			return nil
		}
		cause = err
	}
	if _, ok := r.body.(failedBody); !ok {
		r.body.Close()
	}
	var oe *Error
	switch {
	case errors.As(cause, &oe):
		// A reopen's error, whose driver counted the attempts of its own
		// request only, if at all; or the body's, as the Get's.
		if n := r.resume.made(); oe.Attempts < n {
			oe.Attempts = n
		}
	case r.resume.driver != "":
		// A read given up on says who, what and how hard it tried (E1).
		cause = &Error{Driver: r.resume.driver, Op: "get", Key: r.Attrs.Key, Err: cause, Attempts: r.resume.made()}
	}
	r.body = failedBody{cause}
	return cause
}

// resumable reports whether err, from reading a body or from reopening one,
// is a network failure worth another ranged GET.
func resumable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var oe *Error
	if errors.As(err, &oe) && oe.Kind != nil {
		return false
	}
	var op *net.OpError
	var ne net.Error
	var se h2StreamError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &op),
		errors.As(err, &ne) && ne.Timeout(),
		errors.As(err, &se):
		return true
	}
	// net/http's HTTP/2 client reports a dropped connection with errors it
	// does not export.
	msg := err.Error()
	return strings.Contains(msg, "http2: client connection lost") ||
		strings.Contains(msg, "http2: server sent GOAWAY and closed the connection")
}

// h2StreamError has the fields of the HTTP/2 StreamError of net/http and
// golang.org/x/net/http2, whose As methods convert to any struct of the
// same shape: a stream the server reset, or one the client gave up on.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string { return fmt.Sprintf("stream error: stream ID %d", e.StreamID) }

// failedBody is a body that fails every Read with err.
type failedBody struct{ err error }

func (b failedBody) Read([]byte) (int, error) { return 0, b.err }
func (b failedBody) Close() error             { return nil }
