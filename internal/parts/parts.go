// Package parts holds what the S3 and Azure uploaders share: running parts
// a few at a time, a body read in sections by concurrent requests, a
// request body that reports how far the transport has read it, and the
// error of a write that an attempt whose answer was lost may have stored.
package parts

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/objstore-go/objstore"
)

// Each calls do for the parts 0 to n-1, conc at a time. The first error
// cancels the context of the parts in flight, starts no more, and is
// returned as do returned it; so is the cause of ctx's end.
func Each(ctx context.Context, n, conc int, do func(ctx context.Context, i int) error) error {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for i := range jobs {
				if pctx.Err() != nil {
					continue
				}
				if err := do(pctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
send:
	for i := range n {
		select {
		case jobs <- i:
		case <-pctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(pctx)
}

// Body is a body read with ReadAt, in sections, by concurrent requests.
// It keeps the first error the body returns, so that the Put reports the
// body's failure rather than the request's, and then cancels the requests
// that read it: no retry, whichever layer would make it, can cure a
// failed body. The error also says so to the SDKs' retry policies.
type Body struct {
	r      io.ReaderAt
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	first error
}

// NewBody returns r as a Body whose first failure calls cancel, which
// should end the context of the requests that read it.
func NewBody(r io.ReaderAt, cancel context.CancelCauseFunc) *Body {
	return &Body{r: r, cancel: cancel}
}

func (b *Body) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.first == nil {
			b.first = err
		}
		b.mu.Unlock()
		b.cancel(err)
		return n, bodyError{err}
	}
	return n, err
}

// Err returns the first error the body returned, or nil.
func (b *Body) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.first
}

// Failed returns the error of a request that read b: b's own first error,
// as an *objstore.Error of driver, if it had one; else err.
func (b *Body) Failed(driver, op, key string, err error) error {
	if first := b.Err(); first != nil {
		return &objstore.Error{Driver: driver, Op: op, Key: key, Err: first}
	}
	return err
}

// bodyError is a failure of the body, which no retry can cure.
type bodyError struct{ err error }

func (e bodyError) Error() string { return e.err.Error() }
func (e bodyError) Unwrap() error { return e.err }

// RetryableError tells the AWS SDK's retryer not to send the request
// again, and NonRetriable tells azcore's.
func (bodyError) RetryableError() bool { return false }
func (bodyError) NonRetriable()        {}

// Sent is a request body that reports to Prog how far the transport has
// read it, at most Limit bytes when Limit > 0 (a checksum trailer may add
// bytes). It seeks when R does, so the request stays as rewindable as it
// was; a retry seeks it back to the start, and progress moves only past
// the furthest an attempt reached.
type Sent struct {
	R     io.Reader
	Limit int64
	Prog  interface{ Reached(int64) }
	pos   int64
}

func (s *Sent) Read(p []byte) (int, error) {
	n, err := s.R.Read(p)
	s.pos += int64(n)
	reached := s.pos
	if s.Limit > 0 {
		reached = min(reached, s.Limit)
	}
	s.Prog.Reached(reached)
	return n, err
}

func (s *Sent) Seek(offset int64, whence int) (int64, error) {
	sk, ok := s.R.(io.Seeker)
	if !ok {
		return 0, errors.New("the request body cannot seek")
	}
	pos, err := sk.Seek(offset, whence)
	if err == nil {
		s.pos = pos
	}
	return pos, err
}

// Close does nothing: the caller owns R.
func (s *Sent) Close() error { return nil }
