package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/parts"
)

// The services' limits, as the drivers set them (drivers/s3/multipart.go,
// drivers/azure/multipart.go).
var (
	s3Limits    = Limits{MinPartSize: 5 << 20, MaxPartSize: 5 << 30, MaxParts: 10_000, StreamMax: 5 << 40}
	azureLimits = Limits{MinPartSize: 1, MaxPartSize: 4000 << 20, MaxParts: 50_000, StreamMax: 38 << 40}
)

// small are limits for tests that send many parts of a few bytes.
// With parts of 1 KiB, the size doubles after 3,000 or so.
var small = Limits{MinPartSize: 1, MaxPartSize: 1 << 20, MaxParts: 10_000, StreamMax: 64 << 20}

// fake is an in-process Target: it keeps the parts it is sent, and fails
// as its fields say.
type fake struct {
	beginErr  error
	partErr   func(n int) error // the error of part n, or nil
	commitErr error
	abortErr  error
	// partHook, if set, runs in Part before the body is read.
	partHook func(ctx context.Context, n int) error

	mu        sync.Mutex
	begun     bool
	parts     map[int][]byte
	committed []Part
	commits   int
	aborts    int
	failed    []error
}

func (f *fake) Begin(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begun = true
	return f.beginErr
}

func (f *fake) Part(ctx context.Context, n int, body io.ReadSeeker, size int64) (string, error) {
	if f.partHook != nil {
		if err := f.partHook(ctx, n); err != nil {
			return "", err
		}
	}
	if f.partErr != nil {
		if err := f.partErr(n); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	if int64(len(b)) != size {
		return "", fmt.Errorf("part %d: read %d bytes, told %d", n, len(b), size)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts == nil {
		f.parts = map[int][]byte{}
	}
	if _, dup := f.parts[n]; dup {
		return "", fmt.Errorf("part %d sent twice", n)
	}
	f.parts[n] = b
	return fmt.Sprintf("id-%d", n), nil
}

func (f *fake) Commit(ctx context.Context, parts []Part) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commits++
	f.committed = parts
	return f.commitErr
}

func (f *fake) Abort(ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("abort on an ended context: %w", ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborts++
	return f.abortErr
}

func (f *fake) Failed(cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, cause)
	return &objstore.Error{Driver: "fake", Op: "put", Key: "k", Err: cause}
}

// object returns the committed object's bytes, checking the parts the
// commit named: all sent, in order, numbered from 1.
func (f *fake) object(t *testing.T) []byte {
	t.Helper()
	var out []byte
	for i, p := range f.committed {
		if p.N != i+1 || p.ID != fmt.Sprintf("id-%d", p.N) || int64(len(f.parts[p.N])) != p.Size {
			t.Fatalf("the commit's part %d is %+v (%d parts sent)", i, p, len(f.parts))
		}
		out = append(out, f.parts[p.N]...)
	}
	if len(f.committed) != len(f.parts) {
		t.Fatalf("%d parts committed, %d sent", len(f.committed), len(f.parts))
	}
	return out
}

func randomBytes(seed uint64, n int64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// unsized hides Len: the engine sees a stream of unknown size.
type unsized struct{ io.Reader }

// TestStream sends bodies of many sizes through Start and Run, and checks
// the bytes committed, the parts' order, and the memory bound: never more
// than Concurrency buffers, of at most Concurrency × the largest part size
// used, counted by the engine's buffers.
func TestStream(t *testing.T) {
	tests := []struct {
		size      int64
		p         int64
		conc      int
		threshold int64
		known     bool
		lim       Limits
	}{
		{size: 0, p: 1 << 10, conc: 2, threshold: 1 << 10},
		{size: 1 << 10, p: 1 << 10, conc: 2, threshold: 1 << 10},
		{size: 1<<10 + 1, p: 1 << 10, conc: 2, threshold: 1 << 10},
		{size: 2 << 10, p: 1 << 10, conc: 2, threshold: 1 << 10},
		{size: 100<<10 + 7, p: 1 << 10, conc: 3, threshold: 1 << 10},
		{size: 100<<10 + 7, p: 1 << 10, conc: 1, threshold: 1 << 10},
		{size: 100<<10 + 7, p: 1 << 10, conc: 64, threshold: 1 << 10},
		{size: 3 << 20, p: 1 << 20, conc: 3, threshold: 1 << 20}, // through the chunks
		{size: 3<<20 + 1, p: 1 << 20, conc: 3, threshold: 1 << 20, known: true},
		{size: 200 << 10, p: 100 << 10, conc: 2, threshold: 0},         // threshold 0: parts always
		{size: 150 << 10, p: 100 << 10, conc: 2, threshold: 120 << 10}, // ends past threshold, within the head
		{size: 50 << 10, p: 100 << 10, conc: 2, threshold: 20 << 10},   // ends past threshold, within part 1
		{size: 20<<10 + 1, p: 100 << 10, conc: 2, threshold: 20 << 10}, // a byte past threshold
		{size: 1 << 20, p: 64 << 10, conc: 2, threshold: 300 << 10},    // threshold above the part size
		// Growth: 10 parts must hold 1 MiB from 1 KiB: the size doubles
		// with every part.
		{size: 400 << 10, p: 1 << 10, conc: 3, threshold: 1 << 10, lim: Limits{MinPartSize: 1, MaxPartSize: 512 << 10, MaxParts: 10, StreamMax: 1 << 20}},
		{size: 1<<20 - 1, p: 1 << 10, conc: 2, threshold: 1 << 10, lim: Limits{MinPartSize: 1, MaxPartSize: 512 << 10, MaxParts: 11, StreamMax: 1 << 20}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-bytes-part-%d-conc-%d-threshold-%d", tt.size, tt.p, tt.conc, tt.threshold), func(t *testing.T) {
			lim := tt.lim
			if lim.MaxParts == 0 {
				lim = small
			}
			data := randomBytes(uint64(i), tt.size)
			var body io.Reader = unsized{bytes.NewReader(data)}
			plan := Plan{Limits: lim, PartSize: tt.p, Concurrency: tt.conc, Size: -1, Pooled: i%2 == 0}
			if tt.known {
				body, plan.Size = bytes.NewReader(data), tt.size
			}
			u, err := Start(t.Context(), body, plan, tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			if tt.size <= tt.threshold {
				if b := u.Bytes(); b == nil || !bytes.Equal(b, data) {
					t.Fatalf("a body within the threshold: Bytes holds %d other bytes", len(b))
				}
				return
			}
			if u.Bytes() != nil {
				t.Fatal("a body past the threshold came back whole")
			}
			f := &fake{}
			var acked atomic.Int64
			size, err := u.Run(f, func(n int64) { acked.Add(n) })
			if err != nil {
				t.Fatal(err)
			}
			if got := f.object(t); size != tt.size || !bytes.Equal(got, data) || acked.Load() != tt.size {
				t.Errorf("Run returned %d, acknowledged %d, committed %d other bytes; want %d", size, acked.Load(), len(got), tt.size)
			}
			if f.aborts != 0 || f.commits != 1 {
				t.Errorf("%d aborts, %d commits after a success", f.aborts, f.commits)
			}
			st := u.Stats()
			limit := int64(tt.conc) * st.PartSize
			if head := max(tt.p, tt.threshold); head > tt.p {
				limit = int64(tt.conc-1)*st.PartSize + head
			}
			t.Logf("%d parts, %d buffers and %d bytes at most, parts up to %d bytes", len(f.committed), st.MaxBuffers, st.MaxBytes, st.PartSize)
			if st.MaxBuffers > tt.conc || st.MaxBuffers < 1 || st.MaxBytes > limit {
				t.Errorf("the upload held %d buffers, %d bytes; want at most %d, %d bytes", st.MaxBuffers, st.MaxBytes, tt.conc, limit)
			}
		})
	}
}

// TestStreamReusesBuffers checks that a long upload of constant part size
// allocates its part buffers once: the engine takes no more than
// Concurrency buffers, whatever the number of parts.
func TestStreamReusesBuffers(t *testing.T) {
	const p, conc = 4 << 10, 3
	data := randomBytes(7, 1000*p)
	for _, pooled := range []bool{false, true} {
		u, err := Start(t.Context(), unsized{bytes.NewReader(data)}, Plan{Limits: small, PartSize: p, Concurrency: conc, Size: -1, Pooled: pooled}, p)
		if err != nil {
			t.Fatal(err)
		}
		f := &fake{}
		if _, err := u.Run(f, func(int64) {}); err != nil {
			t.Fatal(err)
		}
		u.Close()
		if got := f.object(t); !bytes.Equal(got, data) {
			t.Fatal("other bytes committed")
		}
		if st := u.Stats(); st.MaxBuffers != conc || st.MaxBytes != conc*p {
			t.Errorf("pooled %v: held %d buffers, %d bytes; want %d of %d bytes", pooled, st.MaxBuffers, st.MaxBytes, conc, p)
		}
	}
}

// TestGrowth checks the one growth rule with each service's limits: from
// any first part size, MaxParts parts hold StreamMax, the size never
// shrinks nor passes MaxPartSize, stays the first size for g parts, and
// g is the largest that holds StreamMax.
func TestGrowth(t *testing.T) {
	for _, svc := range []struct {
		name  string
		lim   Limits
		sizes []int64
	}{
		{"s3", s3Limits, []int64{5 << 20, 8 << 20, 16 << 20, 100 << 20, 500 << 20, 600 << 20, 5 << 30}},
		{"azure", azureLimits, []int64{1, 16 << 10, 1 << 20, 4 << 20, 8 << 20, 100 << 20, 4000 << 20}},
	} {
		for _, p := range svc.sizes {
			lim := svc.lim
			g := lim.Group(p)
			var total, prev int64
			for n := 1; n <= lim.MaxParts; n++ {
				size := lim.SizeAt(p, g, n)
				switch {
				case n <= g && size != min(p, lim.MaxPartSize):
					t.Fatalf("%s, %d: part %d of the first %d is %d bytes", svc.name, p, n, g, size)
				case size < prev || size > lim.MaxPartSize:
					t.Fatalf("%s, %d: part %d is %d bytes after %d", svc.name, p, n, size, prev)
				}
				prev = size
				total += size
			}
			if total < lim.StreamMax && lim.Capacity(p, 1) >= lim.StreamMax {
				t.Errorf("%s, part size %d: %d parts hold %d bytes, less than %d", svc.name, p, lim.MaxParts, total, lim.StreamMax)
			}
			if g < lim.MaxParts && lim.Capacity(p, g+1) >= lim.StreamMax {
				t.Errorf("%s, part size %d: the size doubles every %d parts, but every %d would do", svc.name, p, g, g+1)
			}
			t.Logf("%s: part size %10d: doubles every %5d parts (after %d MiB)", svc.name, p, g, int64(g)*p>>20)
		}
	}
	// Both services keep their default part size for the first several
	// GiB: 8 MiB parts until 7 GiB on S3 (as before the engine), and
	// until 38 GiB on Azure (its 5,000 blocks before).
	if g := s3Limits.Group(8 << 20); int64(g)*8<<20 < 7<<30 {
		t.Errorf("S3's default part size doubles after %d parts", g)
	}
	if g := azureLimits.Group(8 << 20); int64(g)*8<<20 < 38<<30 {
		t.Errorf("Azure's default block size doubles after %d blocks", g)
	}
	// A stream of exactly the capacity fits, a byte more does not.
	lim := Limits{MinPartSize: 1, MaxPartSize: 1 << 20, MaxParts: 4, StreamMax: 1 << 40}
	if c := lim.Capacity(1<<10, lim.Group(1<<10)); c != 15<<10 {
		t.Fatalf("4 parts from 1 KiB, doubling each, hold %d bytes", c)
	}
	for _, size := range []int64{15 << 10, 15<<10 + 1} {
		u, err := Start(t.Context(), unsized{bytes.NewReader(randomBytes(1, size))}, Plan{Limits: lim, PartSize: 1 << 10, Concurrency: 2, Size: -1}, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		f := &fake{}
		_, err = u.Run(f, func(int64) {})
		u.Close()
		var tl *TooLargeError
		switch {
		case size == 15<<10 && err != nil:
			t.Errorf("a body of exactly the capacity: %v", err)
		case size > 15<<10 && (!errors.As(err, &tl) || f.aborts != 1 || f.commits != 0):
			t.Errorf("a byte past the capacity: %v, %d aborts, %d commits; want a *TooLargeError, aborted", err, f.aborts, f.commits)
		}
	}
	// A known size past MaxParts × MaxPartSize fails before any read.
	_, err := Start(t.Context(), failingReader{}, Plan{Limits: lim, PartSize: 1 << 10, Concurrency: 2, Size: 4<<20 + 1}, 1<<10)
	if tl := (*TooLargeError)(nil); !errors.As(err, &tl) || tl.Size != 4<<20+1 {
		t.Errorf("a known size too large: %v, want a *TooLargeError", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("read") }

// rangeReader is an io.ReaderAt over b that counts the reads of each byte.
type rangeReader struct {
	b     []byte
	mu    sync.Mutex
	reads []int
	fail  int64 // ReadAt fails at this offset, when positive
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if r.fail > 0 && off <= r.fail && r.fail < off+int64(len(p)) {
		return 0, errBody
	}
	n := copy(p, r.b[min(off, int64(len(r.b))):])
	r.mu.Lock()
	for i := range n {
		r.reads[off+int64(i)]++
	}
	r.mu.Unlock()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

var errBody = errors.New("the body failed on purpose")

// TestSections checks that a ReaderAt body is read in sections that cover
// it exactly once, committed in order, with no buffer.
func TestSections(t *testing.T) {
	for _, tt := range []struct {
		size, p int64
		conc    int
		parts   int
	}{
		{1, 10, 2, 1},
		{10, 10, 2, 1},
		{11, 10, 2, 2},
		{1000, 10, 3, 100},
		{1000, 7, 1, 143},
		{10_000, 1, 64, 10_000}, // MaxParts: exactly fits
		{20_000, 1, 64, 10_000}, // larger parts, to fit in MaxParts
	} {
		t.Run(fmt.Sprintf("%d-by-%d", tt.size, tt.p), func(t *testing.T) {
			data := randomBytes(uint64(tt.size), tt.size)
			r := &rangeReader{b: data, reads: make([]int, tt.size)}
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			f := &fake{}
			var acked atomic.Int64
			err := Sections(ctx, f, parts.NewBody(r, cancel), tt.size, Plan{Limits: small, PartSize: tt.p, Concurrency: tt.conc}, func(n int64) { acked.Add(n) })
			if err != nil {
				t.Fatal(err)
			}
			if got := f.object(t); !bytes.Equal(got, data) || len(f.committed) != tt.parts || acked.Load() != tt.size {
				t.Errorf("%d parts, %d bytes acknowledged, the bytes equal: %v; want %d parts", len(f.committed), acked.Load(), bytes.Equal(got, data), tt.parts)
			}
			for off, n := range r.reads {
				if n != 1 {
					t.Fatalf("byte %d was read %d times", off, n)
				}
			}
			if f.aborts != 0 {
				t.Errorf("%d aborts after a success", f.aborts)
			}
		})
	}
}

// TestAborts checks every way an upload fails: the upload is aborted
// after any failure between Begin and Commit, on a live context, exactly
// once, with the abort's own failure joined to the error; never after
// Begin or Commit fail, nor after a success; and the error is Failed's of
// the first failure.
func TestAborts(t *testing.T) {
	errPart := errors.New("part 3 failed")
	errBegin := errors.New("begin failed")
	errCommit := errors.New("commit failed")
	errAbort := errors.New("abort failed")
	const p, size = 1 << 10, 20 << 10
	tests := []struct {
		name      string
		target    func() *fake
		bodyFail  bool
		cancel    bool // cancel the context as part 3 is sent
		want      error
		aborts    int
		viaFailed bool // the error went through Failed
	}{
		{name: "success", target: func() *fake { return &fake{} }},
		{name: "begin fails", target: func() *fake { return &fake{beginErr: errBegin} }, want: errBegin},
		{name: "commit fails", target: func() *fake { return &fake{commitErr: errCommit} }, want: errCommit},
		{name: "part fails", target: func() *fake {
			return &fake{partErr: func(n int) error {
				if n == 3 {
					return errPart
				}
				return nil
			}}
		}, want: errPart, aborts: 1, viaFailed: true},
		{name: "part and abort fail", target: func() *fake {
			return &fake{abortErr: errAbort, partErr: func(n int) error {
				if n == 3 {
					return errPart
				}
				return nil
			}}
		}, want: errAbort, aborts: 1, viaFailed: true},
		{name: "body fails", target: func() *fake { return &fake{} }, bodyFail: true, want: errBody, aborts: 1, viaFailed: true},
		{name: "cancelled", target: func() *fake { return &fake{} }, cancel: true, want: context.Canceled, aborts: 1, viaFailed: true},
	}
	for _, tt := range tests {
		for _, mode := range []string{"stream", "sections"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				f := tt.target()
				if tt.cancel {
					f.partHook = func(_ context.Context, n int) error {
						if n == 3 {
							cancel(context.Canceled)
						}
						return nil
					}
				}
				data := randomBytes(3, size)
				plan := Plan{Limits: small, PartSize: p, Concurrency: 2, Size: -1}
				var err error
				if mode == "stream" {
					var body io.Reader = unsized{bytes.NewReader(data)}
					if tt.bodyFail {
						body = io.MultiReader(bytes.NewReader(data[:5*p+10]), failingBody{})
					}
					u, serr := Start(ctx, body, plan, p)
					if serr != nil {
						t.Fatal(serr)
					}
					_, err = u.Run(f, func(int64) {})
					u.Close()
				} else {
					r := &rangeReader{b: data, reads: make([]int, size)}
					if tt.bodyFail {
						r.fail = 5*p + 10
					}
					err = Sections(ctx, f, parts.NewBody(r, cancel), size, plan, func(int64) {})
				}
				if tt.want == nil {
					if err != nil || f.commits != 1 {
						t.Fatalf("Run: %v, %d commits", err, f.commits)
					}
				} else if !errors.Is(err, tt.want) {
					t.Fatalf("got %v; want %v", err, tt.want)
				}
				if f.aborts != tt.aborts {
					t.Errorf("%d aborts; want %d", f.aborts, tt.aborts)
				}
				if tt.aborts > 0 && f.commits != 0 {
					t.Errorf("a failed upload was committed")
				}
				var oe *objstore.Error
				if got := errors.As(err, &oe); got != tt.viaFailed {
					t.Errorf("the error %v came through Failed: %v; want %v", err, got, tt.viaFailed)
				}
				if tt.viaFailed && len(f.failed) != 1 {
					t.Errorf("Failed was called %d times: %v", len(f.failed), f.failed)
				}
				if tt.bodyFail {
					var be *BodyError
					if !errors.As(err, &be) {
						t.Errorf("a failed body: %v, not a *BodyError", err)
					}
				}
				if tt.name == "part and abort fail" && !errors.Is(err, errPart) {
					t.Errorf("the abort's failure hid the part's: %v", err)
				}
			})
		}
	}
}

type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errBody }

// TestCommitOrder finishes parts in reverse order and checks the commit
// gets them in order.
func TestCommitOrder(t *testing.T) {
	const p, n = 1 << 10, 4
	for _, mode := range []string{"stream", "sections"} {
		t.Run(mode, func(t *testing.T) {
			acked := make([]chan struct{}, n+2)
			for i := range acked {
				acked[i] = make(chan struct{})
			}
			f := &fake{}
			// Part i returns only after part i+1 has: the last first.
			f.partHook = func(ctx context.Context, i int) error {
				defer close(acked[i])
				if i < n {
					select {
					case <-acked[i+1]:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			}
			data := randomBytes(4, n*p)
			plan := Plan{Limits: small, PartSize: p, Concurrency: n, Size: -1}
			var err error
			if mode == "stream" {
				u, serr := Start(t.Context(), unsized{bytes.NewReader(data)}, plan, p)
				if serr != nil {
					t.Fatal(serr)
				}
				_, err = u.Run(f, func(int64) {})
				u.Close()
			} else {
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				err = Sections(ctx, f, parts.NewBody(bytes.NewReader(data), cancel), n*p, plan, func(int64) {})
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.object(t); !bytes.Equal(got, data) {
				t.Error("other bytes committed")
			}
		})
	}
}

// countingReader counts the reads of its body that begin after cancelled
// is set.
type countingReader struct {
	r         io.Reader
	cancelled atomic.Bool
	late      atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.cancelled.Load() {
		c.late.Add(1)
	}
	return c.r.Read(p)
}

// TestCancelMidPart cancels an upload while its parts are in flight and
// blocked: Run returns context.Canceled once they stop, the upload is
// aborted, no part is committed, and the body is not read after the
// cancel.
func TestCancelMidPart(t *testing.T) {
	const p, conc = 1 << 10, 3
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	body := &countingReader{r: bytes.NewReader(randomBytes(5, 100*p))}
	f := &fake{}
	var inFlight sync.WaitGroup
	inFlight.Add(conc)
	var once sync.Once
	go func() {
		inFlight.Wait() // every sender is blocked in a part
		body.cancelled.Store(true)
		cancel()
	}()
	f.partHook = func(ctx context.Context, n int) error {
		if n <= conc {
			inFlight.Done()
		} else {
			once.Do(func() { t.Errorf("part %d was sent while %d were blocked", n, conc) })
		}
		<-ctx.Done() // a request the cancel ends
		return ctx.Err()
	}
	u, err := Start(ctx, unsized{body}, Plan{Limits: small, PartSize: p, Concurrency: conc, Size: -1}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_, err = u.Run(f, func(int64) {})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v; want context.Canceled", err)
	}
	if f.aborts != 1 || f.commits != 0 {
		t.Errorf("%d aborts, %d commits; want 1, 0", f.aborts, f.commits)
	}
	if n := body.late.Load(); n != 0 {
		t.Errorf("the body was read %d times after the cancel", n)
	}
}

// TestStartFails checks the errors of Start: a failing body is a
// *BodyError, a cancelled context its cause.
func TestStartFails(t *testing.T) {
	plan := Plan{Limits: small, PartSize: 1 << 20, Concurrency: 2, Size: -1}
	_, err := Start(t.Context(), io.MultiReader(strings.NewReader("abc"), failingBody{}), plan, 1<<20)
	var be *BodyError
	if !errors.As(err, &be) || !errors.Is(err, errBody) {
		t.Errorf("a failing body: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Start(ctx, strings.NewReader("abc"), plan, 1<<20)
	if !errors.Is(err, context.Canceled) || errors.As(err, &be) {
		t.Errorf("a cancelled context: %v", err)
	}
}

func TestFill(t *testing.T) {
	buf := make([]byte, 10)
	// One byte at a time, ending exactly at the buffer's end.
	n, eof, err := fill(iotest.OneByteReader(strings.NewReader("0123456789")), buf)
	if n != 10 || eof || err != nil {
		t.Errorf("a body of exactly the buffer: %d, %v, %v", n, eof, err)
	}
	n, eof, err = fill(strings.NewReader("012"), buf)
	if n != 3 || !eof || err != nil {
		t.Errorf("a short body: %d, %v, %v", n, eof, err)
	}
	// A body that fails with io.ErrUnexpectedEOF has failed; it has not
	// ended.
	n, eof, err = fill(io.MultiReader(strings.NewReader("01"), iotest.ErrReader(io.ErrUnexpectedEOF)), buf)
	if n != 2 || eof || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing body: %d, %v, %v", n, eof, err)
	}
	// The data returned with io.EOF counts.
	n, eof, err = fill(iotest.DataErrReader(strings.NewReader("0123")), buf)
	if n != 4 || !eof || err != nil {
		t.Errorf("data with EOF: %d, %v, %v", n, eof, err)
	}
}

// discardTarget takes parts and keeps only their sizes.
type discardTarget struct {
	fake
	sent atomic.Int64
}

func (d *discardTarget) Part(ctx context.Context, n int, body io.ReadSeeker, size int64) (string, error) {
	m, err := io.Copy(io.Discard, body)
	d.sent.Add(m)
	return fmt.Sprintf("id-%d", n), err
}

// TestReadAheadInPlace checks that with a threshold above the part size,
// what the first buffer read past part 1 is sent from where it lies, not
// copied: the upload allocates the threshold's buffer, Concurrency part
// buffers and the probing chunks (under 2 MiB), and nothing of the
// threshold's size again.
func TestReadAheadInPlace(t *testing.T) {
	const p, conc, threshold, size = 64 << 10, 2, 8 << 20, 12 << 20
	body := unsized{io.LimitReader(rand.NewChaCha8([32]byte{9}), size)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	u, err := Start(t.Context(), body, Plan{Limits: small, PartSize: p, Concurrency: conc, Size: -1}, threshold)
	if err != nil {
		t.Fatal(err)
	}
	d := &discardTarget{}
	n, err := u.Run(d, func(int64) {})
	u.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != size || d.sent.Load() != size {
		t.Fatalf("Run: %d bytes, %d sent, %v", n, d.sent.Load(), err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	limit := uint64(threshold + conc*p + 3<<20)
	t.Logf("allocated %.1f MiB", float64(alloc)/(1<<20))
	if alloc > limit {
		t.Errorf("the upload allocated %d bytes; want at most %d: the read-ahead was copied", alloc, limit)
	}
}
