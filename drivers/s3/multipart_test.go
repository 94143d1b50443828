package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

// TestPartSchedule checks S3's limits with the upload engine's growth
// rule: from any part size, 10,000 parts hold a 5 TiB stream, and the
// default part size stays for the first 7 GiB or so.
func TestPartSchedule(t *testing.T) {
	lim := limits()
	for _, p := range []int64{minPartSize, 8 << 20, 16 << 20, 100 << 20, 500 << 20, 600 << 20, maxPartSize} {
		g := lim.Group(p)
		var total, prev int64
		for n := 1; n <= maxParts; n++ {
			size := lim.SizeAt(p, g, n)
			switch {
			case n <= g && size != p:
				t.Fatalf("part size %d: part %d of the first %d is %d bytes", p, n, g, size)
			case size < prev || size > maxPartSize:
				t.Fatalf("part size %d: part %d is %d bytes after %d", p, n, size, prev)
			}
			prev = size
			total += size
		}
		if total < maxObjectSize {
			t.Errorf("part size %d: %d parts hold %d bytes, less than 5 TiB", p, maxParts, total)
		}
		t.Logf("part size %4d MiB: doubles every %5d parts (after %d GiB)", p>>20, g, int64(g)*p>>30)
	}
	if g := lim.Group(defaultPart); int64(g)*defaultPart < 7<<30 {
		t.Errorf("the default part size doubles after %d parts", g)
	}
}

// stream returns the n bytes of seed, as a reader of unknown size, and
// their SHA-256.
func stream(seed uint64, n int64) (io.Reader, [32]byte) {
	h := sha256.New()
	io.Copy(h, io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n))
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return struct{ io.Reader }{io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n)}, sum
}

var errBody = errors.New("the body failed on purpose")

// hookReader reads r, calls hook once at byte at, and fails at byte
// failAt when that is positive.
type hookReader struct {
	r      io.Reader
	pos    int64
	at     int64
	hook   func()
	failAt int64
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil && h.pos >= h.at {
		h.hook()
		h.hook = nil
	}
	if h.failAt > 0 && h.pos >= h.failAt {
		return 0, errBody
	}
	if h.failAt > 0 && int64(len(p)) > h.failAt-h.pos {
		p = p[:h.failAt-h.pos]
	}
	n, err := h.r.Read(p)
	h.pos += int64(n)
	return n, err
}

// TestPutAborts checks that every failed multipart upload is aborted: the
// upload is listed while it runs and not after, and the key keeps its
// previous state.
func TestPutAborts(t *testing.T) { eachServer(t, testPutAborts) }

func testPutAborts(t *testing.T) {
	s, rec := openTest(t, nil)
	const p = 5 << 20
	opts := objstore.PutOptions{PartSize: p, Concurrency: 2}

	// As the third part is read, both earlier parts have been handed to
	// the senders.
	const at = 2 * p
	tests := []struct {
		name    string
		size    int64
		failAt  int64
		opts    func(ctx context.Context, key string) objstore.PutOptions
		hook    func(ctx context.Context, cancel context.CancelFunc, key string)
		want    error  // the class or cause of the Put's error
		content string // the key's content after, "" for missing
	}{
		{
			name: "body fails", size: 4 * p, failAt: 3 * p, want: errBody,
		},
		{
			name: "context cancelled", size: 4 * p, want: context.Canceled,
			hook: func(_ context.Context, cancel context.CancelFunc, _ string) { cancel() },
		},
		{
			name: "IfAbsent loses the race at CompleteMultipartUpload", size: 3 * p, want: objstore.ErrExists, content: "winner",
			opts: func(context.Context, string) objstore.PutOptions { o := opts; o.IfAbsent = true; return o },
			hook: func(ctx context.Context, _ context.CancelFunc, key string) {
				if _, err := s.Put(ctx, key, strings.NewReader("winner"), nil); err != nil {
					t.Errorf("the racing Put: %v", err)
				}
			},
		},
		{
			name: "IfMatch loses the race at CompleteMultipartUpload", size: 3 * p, want: objstore.ErrPrecondition, content: "winner",
			opts: func(ctx context.Context, key string) objstore.PutOptions {
				a, err := s.Put(ctx, key, strings.NewReader("old"), nil)
				if err != nil {
					t.Fatal(err)
				}
				o := opts
				o.IfMatch = a.ETag
				return o
			},
			hook: func(ctx context.Context, _ context.CancelFunc, key string) {
				if _, err := s.Put(ctx, key, strings.NewReader("winner"), nil); err != nil {
					t.Errorf("the racing Put: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := strings.ReplaceAll(tt.name, " ", "-")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			o := opts
			if tt.opts != nil {
				o = tt.opts(ctx, key)
			}
			during := -1
			body, _ := stream(1, tt.size)
			rec.reset()
			_, err := s.Put(ctx, key, &hookReader{r: body, at: at, failAt: tt.failAt, hook: func() {
				during = len(pendingUploads(t, s, key))
				if tt.hook != nil {
					tt.hook(t.Context(), cancel, key)
				}
			}}, &o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v; want %v", err, tt.want)
			}
			if during != 1 {
				t.Errorf("%d uploads were in progress during the Put; want 1", during)
			}
			if n := len(pendingUploads(t, s, key)); n != 0 {
				t.Errorf("%d uploads are in progress after the failed Put; want it aborted", n)
			}
			// One abort: one request the server accepts. A server still
			// busy with the part the failure cut may refuse it once with
			// a 5xx (versitygw answers 500), which the pipeline retries;
			// a second abort of the library's own would be a second 2xx.
			if st := rec.statuses("AbortMultipartUpload"); !oneAccepted(st) {
				t.Errorf("AbortMultipartUpload answered %v; want one 2xx, after retried 5xx answers if any", st)
			}
			got, _, err := objstore.ReadAll(t.Context(), s, key)
			switch {
			case tt.content == "" && !errors.Is(err, objstore.ErrNotFound):
				t.Errorf("after the failed Put, Get: %q, %v; want ErrNotFound", got, err)
			case tt.content != "" && (err != nil || string(got) != tt.content):
				t.Errorf("after the failed Put, the key holds %.20q (%v); want %q", got, err, tt.content)
			}
		})
	}
}

// TestPutTooManyParts checks a body longer than the parts can hold fails
// and leaves nothing, and one that just fits is stored whole. maxParts is
// lowered to 3, so the part size doubles with every part: 5, 10 and 20 MiB.
func TestPutTooManyParts(t *testing.T) { eachServer(t, testPutTooManyParts) }

func testPutTooManyParts(t *testing.T) {
	defer func(n int) { maxParts = n }(maxParts)
	maxParts = 3
	s, _ := openTest(t, nil)
	opts := &objstore.PutOptions{PartSize: 5 << 20, Concurrency: 2}
	const fits = 35 << 20

	body, sum := stream(2, fits)
	a, err := s.Put(t.Context(), "fits", body, opts)
	if err != nil {
		t.Fatalf("Put of exactly the capacity: %v", err)
	}
	r, err := s.Get(t.Context(), "fits", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil || n != fits || a.Size != fits || !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Errorf("Put of exactly the capacity stored %d bytes (Size %d, %v), or other bytes", n, a.Size, err)
	}

	body, _ = stream(3, fits+1)
	_, err = s.Put(t.Context(), "too-large", body, opts)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "parts") {
		t.Fatalf("Put of one byte more than the parts hold: %v; want ErrInvalidArgument about parts", err)
	}
	if _, err := s.Stat(t.Context(), "too-large"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Stat after the failed Put: %v; want ErrNotFound", err)
	}
	if n := len(pendingUploads(t, s, "too-large")); n != 0 {
		t.Errorf("%d uploads in progress after the failed Put; want it aborted", n)
	}
}

// TestPutMemory checks an upload of unknown size allocates its part
// buffers once: Concurrency buffers of PartSize bytes, plus under 2 MiB
// to find out that the body is large, whatever its length.
func TestPutMemory(t *testing.T) { eachServer(t, testPutMemory) }

func testPutMemory(t *testing.T) {
	s, _ := openTest(t, nil)
	const (
		p    = 5 << 20
		conc = 2
		size = 60 << 20
	)
	body, _ := stream(4, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := s.Put(t.Context(), "k", body, &objstore.PutOptions{PartSize: p, Concurrency: conc}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	limit := uint64(conc*p + 4<<20) // the buffers, 2 MiB of probing, 2 MiB for the SDK's own
	t.Logf("a %d MiB upload in %d MiB parts, %d at once, allocated %.1f MiB", size>>20, p>>20, conc, float64(alloc)/(1<<20))
	if alloc > limit {
		t.Errorf("the upload allocated %d bytes; want at most %d: part buffers should be reused", alloc, limit)
	}
}

// oneAccepted reports whether statuses end with the only 2xx, every one
// before it a 5xx that the pipeline retries.
func oneAccepted(statuses []int) bool {
	if len(statuses) == 0 || statuses[len(statuses)-1]/100 != 2 {
		return false
	}
	for _, c := range statuses[:len(statuses)-1] {
		if c/100 != 5 {
			return false
		}
	}
	return true
}
