package objstore_test

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestProgressCalls(t *testing.T) {
	const mib = 1 << 20
	var calls [][2]int64
	p := objstore.NewProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(-1)        // (0, -1)
	p.Add(mib / 2)     // not a MiB yet
	p.Add(mib / 2)     // (1 MiB, -1)
	p.Reached(mib)     // no more than before
	p.Reached(3 * mib) // (3 MiB, -1)
	p.Start(-1)        // a restart: nothing until it catches up
	p.Add(2 * mib)     // catching up
	p.Finish(4*mib + 1)
	p.Add(mib) // after Finish: nothing
	p.Start(10)
	want := [][2]int64{{0, -1}, {mib, -1}, {3 * mib, -1}, {4*mib + 1, 4*mib + 1}}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}

	// A known total: done reaches it, and Finish adds nothing; done past
	// a total that was wrong is not reported until Finish.
	calls = nil
	p = objstore.NewProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(100)
	p.Add(100)
	p.Finish(100)
	if want := [][2]int64{{0, 100}, {100, 100}}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	calls = nil
	p = objstore.NewProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(100)
	p.Add(3 * mib)
	p.Finish(3 * mib)
	if want := [][2]int64{{0, 100}, {3 * mib, 3 * mib}}; !slices.Equal(calls, want) {
		t.Errorf("a body longer than announced: calls %v, want %v", calls, want)
	}

	// Stop ends the calls without a last one.
	calls = nil
	p = objstore.NewProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(0)
	p.Stop()
	p.Finish(0)
	p.Add(5)
	if want := [][2]int64{{0, 0}}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}

	// No callback: nil, and its methods do nothing.
	if p := objstore.NewProgress(nil); p != nil {
		t.Errorf("NewProgress(nil) = %v, want nil", p)
	}
	var none *objstore.Progress
	none.Start(1)
	none.Add(1)
	none.Reached(1)
	none.Finish(1)
	none.Stop()
}

// TestProgressConcurrent adds from many goroutines, as parts completing
// at once do: the calls never overlap, done never decreases, and there
// is at most one per MiB besides the first and the last.
func TestProgressConcurrent(t *testing.T) {
	log := &progressLog{t: t}
	p := objstore.NewProgress(log.fn)
	const parts, part = 64, 300 << 10
	p.Start(parts * part)
	var wg sync.WaitGroup
	for range parts {
		wg.Go(func() { p.Add(part) })
	}
	wg.Wait()
	p.Finish(parts * part)
	log.checkFinal(parts * part)
}

func TestReaderAtBody(t *testing.T) {
	read := bytes.NewReader([]byte("0123456789"))
	read.Read(make([]byte, 3))
	seeked := io.NewSectionReader(strings.NewReader("0123456789"), 0, 10)
	seeked.Seek(4, io.SeekStart)
	f, err := os.Open(writeFile(t, []byte("0123456789")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		body io.Reader
		size int64 // -1: not read in parallel
	}{
		{"*io.SectionReader", io.NewSectionReader(strings.NewReader("0123456789"), 2, 5), 5},
		{"*bytes.Reader", bytes.NewReader([]byte("0123456789")), 10},
		{"*strings.Reader", strings.NewReader("01234"), 5},
		{"empty *bytes.Reader", bytes.NewReader(nil), 0},
		{"*bytes.Reader read from", read, -1},
		{"*io.SectionReader seeked", seeked, -1},
		{"*os.File, which has no Size", f, -1},
		{"*bytes.Buffer, which has no ReadAt", bytes.NewBufferString("0123"), -1},
		{"a plain reader", struct{ io.Reader }{strings.NewReader("x")}, -1},
	}
	for _, tt := range tests {
		r, size, ok := objstore.ReaderAtBody(tt.body)
		switch {
		case tt.size < 0 && ok:
			t.Errorf("%s: ReaderAtBody accepted it (size %d)", tt.name, size)
		case tt.size >= 0 && (!ok || size != tt.size || r == nil):
			t.Errorf("%s: ReaderAtBody = %v, %d, %v; want the body and size %d", tt.name, r, size, ok, tt.size)
		}
	}
	// Asking does not move the body.
	b := bytes.NewReader([]byte("abc"))
	objstore.ReaderAtBody(b)
	if got, _ := io.ReadAll(b); string(got) != "abc" {
		t.Errorf("after ReaderAtBody the body reads %q, want %q", got, "abc")
	}
}
