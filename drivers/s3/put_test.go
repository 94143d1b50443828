package s3

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/objstore-go/objstore"
)

// sectionSpy is a Put body with ReadAt and Size that counts how the
// driver reads it.
type sectionSpy struct {
	*io.SectionReader
	reads, readAts atomic.Int32
}

func newSectionSpy(data []byte) *sectionSpy {
	return &sectionSpy{SectionReader: io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data)))}
}

func (s *sectionSpy) Read(p []byte) (int, error) {
	s.reads.Add(1)
	return s.SectionReader.Read(p)
}

func (s *sectionSpy) ReadAt(p []byte, off int64) (int, error) {
	s.readAts.Add(1)
	return s.SectionReader.ReadAt(p, off)
}

// progressCalls records progress calls.
type progressCalls struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (p *progressCalls) fn(done, total int64) {
	p.mu.Lock()
	p.calls = append(p.calls, [2]int64{done, total})
	p.mu.Unlock()
}

func (p *progressCalls) get() [][2]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][2]int64(nil), p.calls...)
}

// TestPutReadsPartsAt puts a body with ReadAt and Size above the multipart
// threshold, with the first attempt at part 2 failing: the parts are read
// through ReadAt only, part 2 alone is sent again, and the object
// round-trips.
func TestPutReadsPartsAt(t *testing.T) { eachServer(t, testPutReadsPartsAt) }

func testPutReadsPartsAt(t *testing.T) {
	s, rec := openTest(t, nil)
	ctx := t.Context()
	data := randomData(13<<20+3, 1)
	var failed atomic.Bool
	rec.fail = func(req *http.Request) bool {
		return operation(req) == "UploadPart" && req.URL.Query().Get("partNumber") == "2" && failed.CompareAndSwap(false, true)
	}
	body := newSectionSpy(data)
	prog := &progressCalls{}
	a, err := s.Put(ctx, "k", body, &objstore.PutOptions{PartSize: 5 << 20, Concurrency: 3, Progress: prog.fn})
	if err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("no UploadPart of part 2 was sent")
	}
	if n := rec.count("UploadPart"); n != 4 {
		t.Errorf("%d UploadPart requests; want 4: 3 parts, and part 2 again", n)
	}
	if r, ra := body.reads.Load(), body.readAts.Load(); r != 0 || ra == 0 {
		t.Errorf("the driver called Read %d times and ReadAt %d times; want ReadAt only", r, ra)
	}
	got, st, err := objstore.ReadAll(ctx, s, "k")
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) || st.ETag != a.ETag || a.Size != int64(len(data)) {
		t.Errorf("the object holds %d other bytes (%v); Put returned %+v", len(got), err, a)
	}
	if up := pendingUploads(t, s, "k"); len(up) != 0 {
		t.Errorf("%d multipart uploads left pending", len(up))
	}
	n := int64(len(data))
	want := [][2]int64{{0, n}, {5 << 20, n}, {10 << 20, n}, {n, n}}
	if calls := prog.get(); len(calls) != len(want) || calls[0] != want[0] || calls[len(calls)-1] != want[3] {
		// The middle two depend on which part completes first, but there
		// is one call per part.
		t.Errorf("Progress calls %v; want one per part, from [0 %d] to [%d %d]", calls, n, n, n)
	}
}

// TestPutObjectReadsAt puts a body with ReadAt and Size below the
// threshold, with the first attempt failing after 1 MiB: one PutObject,
// sent again, whose body is read with ReadAt, and whose progress follows
// the transport's reading, a call per MiB, never going back.
func TestPutObjectReadsAt(t *testing.T) { eachServer(t, testPutObjectReadsAt) }

func testPutObjectReadsAt(t *testing.T) {
	s, rec := openTest(t, &Options{MultipartThreshold: 8 << 20})
	ctx := t.Context()
	data := randomData(3<<20+1, 2)
	body := newSectionSpy(data)
	prog := &progressCalls{}
	var failed atomic.Bool
	rec.fail = func(req *http.Request) bool { return failed.CompareAndSwap(false, true) }
	if _, err := s.Put(ctx, "k", body, &objstore.PutOptions{Progress: prog.fn}); err != nil {
		t.Fatal(err)
	}
	if ops, _, _ := rec.snapshot(); len(ops) != 2 || ops[0] != "PutObject" || ops[1] != "PutObject" {
		t.Errorf("the Put sent %v; want one PutObject, and it again", ops)
	}
	if r, ra := body.reads.Load(), body.readAts.Load(); r != 0 || ra == 0 {
		t.Errorf("the driver called Read %d times and ReadAt %d times; want ReadAt only", r, ra)
	}
	if got, _, err := objstore.ReadAll(ctx, s, "k"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the object holds %d other bytes (%v)", len(got), err)
	}
	n := int64(len(data))
	calls := prog.get()
	t.Logf("Progress calls: %v", calls)
	if len(calls) < 3 || len(calls) > 5 || calls[0] != [2]int64{0, n} || calls[len(calls)-1] != [2]int64{n, n} {
		t.Fatalf("Progress calls %v; want [0 %d], a call per MiB sent, and [%d %d]", calls, n, n, n)
	}
	for i, c := range calls[1 : len(calls)-1] {
		if c[0] <= calls[i][0] || c[0] >= n || c[1] != n {
			t.Errorf("Progress calls %v; want the ones between the first and the last growing within the body", calls)
		}
	}
}

// randomData returns n bytes that differ with seed.
func randomData(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed, 'p'}).Read(b)
	return b
}
