package conformance_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	_ "github.com/objstore-go/objstore/drivers/memory"
)

// The suite is only worth something if it fails broken drivers. Each store
// below breaks one rule of the memory driver; Check must report exactly
// that.

// nonAtomicIfAbsent checks, then writes: the race P4 exists to catch.
// The race is certain, not left to the scheduler: a caller that finds the
// key missing waits, before it writes, until a second caller has found it
// missing too.
type nonAtomicIfAbsent struct {
	objstore.Store
	mu      sync.Mutex
	missing int           // callers that found the key missing
	two     chan struct{} // closed when the second one did
}

func (s *nonAtomicIfAbsent) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	if opts != nil && opts.IfAbsent {
		if _, err := s.Stat(ctx, key); err == nil {
			return objstore.Attrs{}, &objstore.Error{Driver: "mem", Op: "put", Key: key, Kind: objstore.ErrExists}
		}
		s.mu.Lock()
		if s.missing++; s.missing == 2 {
			close(s.two)
		}
		s.mu.Unlock()
		select {
		case <-s.two:
		case <-ctx.Done():
			return objstore.Attrs{}, ctx.Err()
		}
		o := *opts
		o.IfAbsent = false
		opts = &o
	}
	return s.Store.Put(ctx, key, body, opts)
}

type noCopy struct{ objstore.Store }

func (noCopy) Copy(_ context.Context, dst, _ string, _ *objstore.CopyOptions) (objstore.Attrs, error) {
	return objstore.Attrs{}, &objstore.Error{Driver: "mem", Op: "copy", Key: dst, Kind: objstore.ErrUnsupported}
}

type ignoresStartAfter struct{ objstore.Store }

func (s ignoresStartAfter) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	o := objstore.ListOptions{}
	if opts != nil {
		o = *opts
	}
	o.StartAfter = ""
	return s.Store.List(ctx, &o)
}

// endless repeats its first page forever, as a server would whose page
// token never advances.
type endless struct{ objstore.Store }

func (s endless) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	return func(yield func(objstore.Entry, error) bool) {
		for {
			n := 0
			for e, err := range s.Store.List(ctx, opts) {
				n++
				if !yield(e, err) || err != nil {
					return
				}
			}
			if n == 0 {
				return
			}
		}
	}
}

type sniffsContentType struct{ objstore.Store }

func (s sniffsContentType) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	o := objstore.PutOptions{}
	if opts != nil {
		o = *opts
	}
	if o.ContentType == "" {
		o.ContentType = "text/html"
	}
	return s.Store.Put(ctx, key, body, &o)
}

// lateProgress calls the progress callback of each Put again at the start
// of the next Put: after the Put it belongs to has returned.
type lateProgress struct {
	objstore.Store
	last func(done, total int64)
}

func (s *lateProgress) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	if s.last != nil {
		s.last(0, -1)
	}
	if opts != nil {
		s.last = opts.Progress
	}
	return s.Store.Put(ctx, key, body, opts)
}

// chattyProgress calls the progress callback for every 64 KiB read.
type chattyProgress struct{ objstore.Store }

func (s chattyProgress) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	if opts == nil || opts.Progress == nil {
		return s.Store.Put(ctx, key, body, opts)
	}
	o := *opts
	o.Progress = nil
	a, err := s.Store.Put(ctx, key, &chattyReader{r: body, fn: opts.Progress}, &o)
	if err == nil {
		opts.Progress(a.Size, a.Size)
	}
	return a, err
}

type chattyReader struct {
	r    io.Reader
	fn   func(done, total int64)
	done int64
}

func (c *chattyReader) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	if c.done == 0 {
		c.fn(0, -1)
	}
	n, err := c.r.Read(p)
	if n > 0 {
		c.done += int64(n)
		c.fn(c.done, -1)
	}
	return n, err
}

// silentCopy ignores CopyOptions.Progress.
type silentCopy struct{ objstore.Store }

func (s silentCopy) Copy(ctx context.Context, dst, src string, opts *objstore.CopyOptions) (objstore.Attrs, error) {
	return s.Store.Copy(ctx, dst, src, nil)
}

func TestSuiteFailsBrokenDrivers(t *testing.T) {
	tests := []struct {
		name       string
		wrap       func(objstore.Store) objstore.Store
		requireAll bool
		id         string
		want       conformance.Status
	}{
		{"correct", func(s objstore.Store) objstore.Store { return s }, true, "P4/IfAbsentRace", conformance.Pass},
		{"non-atomic IfAbsent", func(s objstore.Store) objstore.Store {
			return &nonAtomicIfAbsent{Store: s, two: make(chan struct{})}
		}, true, "P4/IfAbsentRace", conformance.Fail},
		{"copy unsupported", func(s objstore.Store) objstore.Store { return noCopy{s} }, false, "C1/Copy", conformance.Unsupported},
		{"copy unsupported, all required", func(s objstore.Store) objstore.Store { return noCopy{s} }, true, "C1/Copy", conformance.Fail},
		{"StartAfter ignored", func(s objstore.Store) objstore.Store { return ignoresStartAfter{s} }, true, "L3/StartAfter", conformance.Fail},
		{"listing never ends", func(s objstore.Store) objstore.Store { return endless{s} }, true, "L1/Order", conformance.Fail},
		{"content type sniffed", func(s objstore.Store) objstore.Store { return sniffsContentType{s} }, true, "M2/ContentType", conformance.Fail},
		{"correct progress", func(s objstore.Store) objstore.Store { return s }, true, "P8/Progress", conformance.Pass},
		{"progress after Put returned", func(s objstore.Store) objstore.Store { return &lateProgress{Store: s} }, true, "P8/Progress", conformance.Fail},
		{"progress for every read", func(s objstore.Store) objstore.Store { return chattyProgress{s} }, true, "P8/Progress", conformance.Fail},
		{"no progress on Copy", func(s objstore.Store) objstore.Store { return silentCopy{s} }, true, "C7/Progress", conformance.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "selftest-" + strings.ReplaceAll(tt.name, " ", "-")
			h := conformance.Harness{
				RequireAll: tt.requireAll,
				Open: func(ctx context.Context, prefix string) (objstore.Store, error) {
					s, err := objstore.Open(ctx, "mem://"+name+"/"+strings.TrimSuffix(prefix, "/"))
					if err != nil {
						return nil, err
					}
					return tt.wrap(s), nil
				},
				CaseTimeout: time.Minute,
			}
			results, err := conformance.Check(t.Context(), h, func(id string) bool { return id == tt.id }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 {
				t.Fatalf("Check ran %d cases, want 1", len(results))
			}
			if r := results[0]; r.Status != tt.want {
				t.Errorf("%s: status %s (%s), want %s", r.ID, r.Status, r.Reason, tt.want)
			}
		})
	}
}

func TestCheckNeedsAStore(t *testing.T) {
	_, err := conformance.Check(t.Context(), conformance.Harness{}, nil, nil)
	if err == nil {
		t.Fatal("Check with an empty Harness returned no error")
	}
	_, err = conformance.Check(t.Context(), conformance.Harness{URL: "nosuch://x"}, nil, nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Fatalf("Check of an unknown scheme: %v, want ErrInvalidArgument", err)
	}
}
