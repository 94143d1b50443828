package objstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/objstore-go/objstore/internal/budget"
)

// brokenBody serves data and then fails with err; a nil err ends it with
// io.EOF. withData makes the failing Read also return the last bytes.
type brokenBody struct {
	data     []byte
	err      error
	withData bool
	closed   bool
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read after close")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	if len(b.data) > 0 {
		return n, nil
	}
	err := b.err
	if err == nil {
		err = io.EOF
	}
	if n > 0 && !b.withData {
		return n, nil
	}
	b.data = nil
	return n, err
}

func (b *brokenBody) Close() error { b.closed = true; return nil }

// cut returns data[from:from+n] as a body that fails after the first
// upTo bytes with err (or serves them all when upTo < 0).
func cut(data []byte, from, n int64, upTo int, err error) *brokenBody {
	d := data[from : from+n]
	if upTo < 0 || upTo >= len(d) {
		return &brokenBody{data: bytes.Clone(d)}
	}
	return &brokenBody{data: bytes.Clone(d[:upTo]), err: err}
}

type reopenCall struct {
	offset, length int64
	etag           string
}

// fakeStore hands out bodies of data for the reopen calls, each failing
// as fails[i] says (the last entry repeats).
type fakeStore struct {
	data  []byte
	etag  string
	fails []failure
	calls []reopenCall
}

type failure struct {
	upTo      int   // bytes served before err; -1 serves them all
	err       error // how the body fails
	reopenErr error // the reopen itself fails with this
}

func (f *fakeStore) reopen(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
	f.calls = append(f.calls, reopenCall{offset, length, etag})
	if etag != f.etag {
		return nil, &Error{Driver: "fake", Op: "get", Kind: ErrPrecondition}
	}
	fl := failure{upTo: -1}
	if len(f.fails) > 0 {
		fl = f.fails[min(len(f.calls)-1, len(f.fails)-1)]
	}
	if fl.reopenErr != nil {
		return nil, fl.reopenErr
	}
	return cut(f.data, offset, length, fl.upTo, fl.err), nil
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

var (
	errReset   = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	errTimeout = fmt.Errorf("reading: %w", timeoutError{})
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestResumableReader(t *testing.T) {
	data := testData(1000)
	const etag = `"v1"`
	precondition := &Error{Driver: "fake", Op: "get", Kind: ErrPrecondition}
	boom := errors.New("boom")
	tests := []struct {
		name           string
		offset, length int64
		first          failure   // how the first body fails
		fails          []failure // how reopened bodies fail
		changed        bool      // the object changed before the first reopen
		want           []reopenCall
		wantErr        error // nil: the whole range reads back
	}{
		{name: "unexpected EOF", offset: 0, length: 1000, first: failure{300, io.ErrUnexpectedEOF, nil},
			want: []reopenCall{{300, 700, etag}}},
		{name: "short body", offset: 0, length: 1000, first: failure{300, nil, nil},
			want: []reopenCall{{300, 700, etag}}},
		{name: "reset with data", offset: 0, length: 1000, first: failure{300, errReset, nil},
			want: []reopenCall{{300, 700, etag}}},
		{name: "timeout", offset: 0, length: 1000, first: failure{0, errTimeout, nil},
			want: []reopenCall{{0, 1000, etag}}},
		{name: "range", offset: 200, length: 500, first: failure{123, io.ErrUnexpectedEOF, nil},
			want: []reopenCall{{323, 377, etag}}},
		{name: "range breaks again", offset: 200, length: 500, first: failure{100, io.ErrUnexpectedEOF, nil},
			fails: []failure{{50, errReset, nil}, {-1, nil, nil}},
			want:  []reopenCall{{300, 400, etag}, {350, 350, etag}}},
		{name: "within budget", offset: 0, length: 1000, first: failure{100, io.ErrUnexpectedEOF, nil},
			fails: []failure{{100, io.ErrUnexpectedEOF, nil}, {100, io.ErrUnexpectedEOF, nil}, {-1, nil, nil}},
			want:  []reopenCall{{100, 900, etag}, {200, 800, etag}, {300, 700, etag}}},
		{name: "budget exhausted", offset: 0, length: 1000, first: failure{100, io.ErrUnexpectedEOF, nil},
			fails:   []failure{{100, io.ErrUnexpectedEOF, nil}},
			want:    []reopenCall{{100, 900, etag}, {200, 800, etag}, {300, 700, etag}},
			wantErr: io.ErrUnexpectedEOF},
		{name: "reopen fails on the network, then works", offset: 0, length: 1000, first: failure{100, errReset, nil},
			fails: []failure{{reopenErr: errReset}, {-1, nil, nil}},
			want:  []reopenCall{{100, 900, etag}, {100, 900, etag}}},
		{name: "object changed", offset: 0, length: 1000, first: failure{400, io.ErrUnexpectedEOF, nil},
			changed: true, want: []reopenCall{{400, 600, etag}}, wantErr: ErrPrecondition},
		{name: "reopen fails for good", offset: 0, length: 1000, first: failure{400, io.ErrUnexpectedEOF, nil},
			fails: []failure{{reopenErr: boom}}, want: []reopenCall{{400, 600, etag}}, wantErr: boom},
		{name: "reopen precondition", offset: 0, length: 1000, first: failure{400, io.ErrUnexpectedEOF, nil},
			fails: []failure{{reopenErr: precondition}}, want: []reopenCall{{400, 600, etag}}, wantErr: ErrPrecondition},
		{name: "not a network error", offset: 0, length: 1000, first: failure{400, boom, nil},
			want: nil, wantErr: boom},
		{name: "deadline of a context", offset: 0, length: 1000, first: failure{400, fmt.Errorf("get: %w", context.DeadlineExceeded), nil},
			want: nil, wantErr: context.DeadlineExceeded},
		{name: "classified error", offset: 0, length: 1000, first: failure{400, &Error{Kind: ErrPermission, Err: errReset}, nil},
			want: nil, wantErr: ErrPermission},
		{name: "failure after the last byte", offset: 0, length: 1000, first: failure{1000, errReset, nil},
			want: nil},
	}
	for _, tt := range tests {
		for _, via := range []string{"Read", "WriteTo"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				f := &fakeStore{data: data, etag: etag, fails: tt.fails}
				if tt.changed {
					f.etag = `"v2"`
				}
				body := cut(data, tt.offset, tt.length, tt.first.upTo, tt.first.err)
				if tt.first.upTo == int(tt.length) {
					body = &brokenBody{data: bytes.Clone(data[tt.offset : tt.offset+tt.length]), err: tt.first.err, withData: true}
				}
				r := newResumableReader(context.Background(), "", body, Attrs{Size: 1000, ETag: etag}, tt.offset, tt.length, f.reopen)
				var got []byte
				var err error
				if via == "Read" {
					got, err = io.ReadAll(r)
				} else {
					// io.Copy takes the Reader's WriteTo.
					var buf bytes.Buffer
					_, err = io.Copy(&buf, r)
					got = buf.Bytes()
				}
				want := data[tt.offset : tt.offset+tt.length]
				switch {
				case tt.wantErr == nil && err != nil:
					t.Fatalf("ReadAll: %v after %d bytes", err, len(got))
				case tt.wantErr == nil && !bytes.Equal(got, want):
					t.Errorf("read %d bytes that differ from the %d of the range", len(got), len(want))
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Errorf("ReadAll: %v; want %v", err, tt.wantErr)
				case tt.wantErr != nil && !bytes.HasPrefix(want, got):
					t.Errorf("before failing, read %d bytes that are not a prefix of the range", len(got))
				}
				if fmt.Sprint(f.calls) != fmt.Sprint(tt.want) {
					t.Errorf("reopen calls %v, want %v", f.calls, tt.want)
				}
				if !body.closed && len(f.calls) > 0 {
					t.Error("the broken body was not closed")
				}
				if tt.wantErr != nil {
					// The error sticks, and no further reopen is sent.
					n := len(f.calls)
					if _, err2 := r.Read(make([]byte, 10)); !errors.Is(err2, tt.wantErr) {
						t.Errorf("Read after the failure: %v; want %v", err2, tt.wantErr)
					}
					if len(f.calls) != n {
						t.Errorf("Read after the failure sent %d more reopens", len(f.calls)-n)
					}
				}
				if err := r.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}

// TestResumableReaderBudget checks the budget is the constant the docs
// give.
func TestResumableReaderBudget(t *testing.T) {
	if maxResumes != 3 {
		t.Errorf("maxResumes = %d; newResumableReader's doc says 3", maxResumes)
	}
}

func TestResumableReaderContext(t *testing.T) {
	data := testData(1000)
	for _, bodyErr := range []error{context.Canceled, io.ErrUnexpectedEOF, errReset} {
		t.Run(bodyErr.Error(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			f := &fakeStore{data: data, etag: `"v1"`}
			body := cut(data, 0, 1000, 300, bodyErr)
			r := newResumableReader(ctx, "fake", body, Attrs{Size: 1000, ETag: `"v1"`}, 0, 1000, f.reopen)
			defer r.Close()
			buf := make([]byte, 300)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			cancel()
			_, err := io.ReadAll(r)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v; want context.Canceled", err)
			}
			if bodyErr != context.Canceled && !errors.Is(err, bodyErr) {
				t.Errorf("after cancel: %v; want it to carry %v too", err, bodyErr)
			}
			if len(f.calls) != 0 {
				t.Errorf("a cancelled read resumed: %v", f.calls)
			}
		})
	}
}

// TestResumableReaderNoETag: without an ETag to pin to, the Reader cannot
// resume and behaves as NewReader's.
func TestResumableReaderNoETag(t *testing.T) {
	data := testData(100)
	f := &fakeStore{data: data, etag: ""}
	r := newResumableReader(context.Background(), "", cut(data, 0, 100, 50, io.ErrUnexpectedEOF), Attrs{Size: 100}, 0, 100, f.reopen)
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll: %v; want io.ErrUnexpectedEOF", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("reopened without an ETag: %v", f.calls)
	}
}

// TestResumableReaderLongBody: a reopened body that holds more than asked
// is still cut at Length.
func TestResumableReaderLongBody(t *testing.T) {
	data := testData(1000)
	reopen := func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data[offset:])), nil
	}
	r := newResumableReader(context.Background(), "", cut(data, 100, 400, 50, errReset), Attrs{Size: 1000, ETag: `"x"`}, 100, 400, reopen)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data[100:500]) {
		t.Errorf("ReadAll: %d bytes, %v; want bytes [100, 500)", len(got), err)
	}
}

// TestResumableErrorsHTTP2 checks that a real HTTP/2 stream reset, which
// net/http reports with an unexported type, is resumable.
func TestResumableErrorsHTTP2(t *testing.T) {
	data := testData(1 << 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // resets the stream
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("the test server spoke %s, want HTTP/2", resp.Proto)
	}
	_, err = io.ReadAll(resp.Body)
	if err == nil || !resumable(err) {
		t.Errorf("a reset HTTP/2 stream failed with %v (%T), which is not resumable", err, err)
	}
}

func TestResumable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{errReset, true},
		{syscall.EPIPE, true},
		{os.ErrDeadlineExceeded, true},
		{errTimeout, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, true},
		{errors.New("http2: client connection lost"), true},
		{&Error{Err: errReset}, true},
		{nil, false},
		{io.EOF, false},
		{errors.New("boom"), false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("%w: %w", context.Canceled, io.ErrUnexpectedEOF), false},
		{&Error{Kind: ErrPrecondition}, false},
		{&Error{Kind: ErrNotFound, Err: errReset}, false},
	}
	for _, tt := range tests {
		if got := resumable(tt.err); got != tt.want {
			t.Errorf("resumable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestResumableReaderSharedBudget: with a budget of attempts in the
// context (the pipeline's, rule R1), the Reader resumes only while
// attempts are left, whatever its own count of resumptions, and its error
// says how many attempts the Get made. Here each reopen spends what a
// request retried once would: two attempts.
func TestResumableReaderSharedBudget(t *testing.T) {
	data := testData(1000)
	for _, tt := range []struct {
		name    string
		max     int // attempts in the budget; the first GET spent one
		perCall int // attempts each reopen spends
		reopens int // reopen calls made
		ok      bool
	}{
		{"heals within the budget", 4, 1, 3, true},
		{"each reopen retried", 4, 2, 2, false},
		{"no attempt left", 1, 1, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := budget.New(tt.max)
			b.Take() // the Get's first GET
			ctx := budget.WithResumes(context.Background(), 3)
			ctx = budget.With(ctx, b)
			calls := 0
			reopen := func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
				calls++
				for range tt.perCall {
					b.Take()
				}
				if calls < 3 {
					return cut(data, offset, length, 100, io.ErrUnexpectedEOF), nil
				}
				return cut(data, offset, length, -1, nil), nil
			}
			r := newResumableReader(ctx, "fake", cut(data, 0, 1000, 100, io.ErrUnexpectedEOF), Attrs{Key: "k", ETag: `"v1"`, Size: 1000}, 0, 1000, reopen)
			got, err := io.ReadAll(r)
			if calls != tt.reopens {
				t.Errorf("%d reopens; want %d", calls, tt.reopens)
			}
			if tt.ok {
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("ReadAll: %d bytes, %v; want all %d", len(got), err, len(data))
				}
				return
			}
			var oe *Error
			if !errors.As(err, &oe) || oe.Attempts != b.Used() || b.Used() != tt.max {
				t.Errorf("ReadAll: %v (Attempts %d); want an *Error that says the %d attempts made", err, attemptsOf(err), tt.max)
			}
		})
	}
}

func attemptsOf(err error) int {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Attempts
	}
	return 0
}
