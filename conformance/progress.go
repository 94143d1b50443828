package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore"
)

// progressLog records the calls of one Put's or Copy's progress callback.
type progressLog struct {
	inFlight atomic.Int32
	returned atomic.Bool // set once the call it watches has returned

	mu      sync.Mutex
	calls   [][2]int64
	overlap bool // two calls ran at once
	late    int  // calls after the Put or Copy returned
}

func (p *progressLog) fn(done, total int64) {
	overlap := p.inFlight.Add(1) != 1
	defer p.inFlight.Add(-1)
	late := p.returned.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.overlap = p.overlap || overlap
	if late {
		p.late++
	}
	p.calls = append(p.calls, [2]int64{done, total})
}

// progressCheck is what a case knows of the transfer a progressLog
// watched.
type progressCheck struct {
	what  string
	size  int64 // the bytes the transfer moves
	known bool  // the driver was told the size (Len or Size), or knows it
	ok    bool  // the transfer succeeded
}

// checkProgress checks p's calls against rule P8 (and C7, which is P8 for
// Copy). It runs after the transfer returned, and again at the end of the
// case (see lateProgress) for calls that came after it.
func (c *C) checkProgress(p *progressLog, pc progressCheck) {
	c.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := slices.Clone(p.calls)
	if p.overlap {
		c.Errorf("%s: two Progress calls ran at once; the calls must be serialized", pc.what)
	}
	if len(calls) == 0 {
		if pc.ok {
			c.Errorf("%s: Progress was never called", pc.what)
		}
		return
	}
	if first := calls[0]; first[0] != 0 || (pc.known && first[1] != pc.size) || (!pc.known && first[1] != -1 && first[1] != pc.size) {
		want := fmt.Sprint("[0 ", pc.size, "]")
		if !pc.known {
			want += fmt.Sprint(" or [0 -1]")
		}
		c.Errorf("%s: the first Progress call was %v, want %s", pc.what, first, want)
	}
	sizeKnown := false
	for i, call := range calls {
		done, total := call[0], call[1]
		switch {
		case total != -1 && total != pc.size:
			c.Errorf("%s: Progress(%d, %d): total is neither the size %d nor -1 (unknown)", pc.what, done, total, pc.size)
		case sizeKnown && total == -1:
			c.Errorf("%s: Progress(%d, -1) after a call that gave the total %d", pc.what, done, pc.size)
		case done < 0 || (total >= 0 && done > total):
			c.Errorf("%s: Progress(%d, %d): done out of range", pc.what, done, total)
		}
		sizeKnown = sizeKnown || total >= 0
		if i == 0 {
			continue
		}
		switch prev := calls[i-1]; {
		case done < prev[0]:
			c.Errorf("%s: Progress(%d, %d) after Progress(%d, %d): done decreased", pc.what, done, total, prev[0], prev[1])
		case call == prev:
			c.Errorf("%s: Progress(%d, %d) twice in a row", pc.what, done, total)
		}
	}
	if !pc.ok {
		return
	}
	if last := calls[len(calls)-1]; last != [2]int64{pc.size, pc.size} {
		c.Errorf("%s: the last Progress call was %v, want [%d %d]", pc.what, last, pc.size, pc.size)
	}
	if most := pc.size>>20 + 2; int64(len(calls)) > most {
		c.Errorf("%s: Progress was called %d times for %d bytes; want at most %d (one per MiB, the first and the last)",
			pc.what, len(calls), pc.size, most)
	}
}

// lateProgress checks that none of logs was called after its transfer
// returned. A case calls it last, to give a stray call time to show.
func (c *C) lateProgress(logs map[string]*progressLog) {
	c.Helper()
	for what, p := range logs {
		p.mu.Lock()
		if p.late > 0 {
			c.Errorf("%s: Progress was called %d times after the call returned", what, p.late)
		}
		p.mu.Unlock()
	}
}

// putWithProgress puts body to key with opts and a progressLog, checks the
// calls, and returns the result.
func (c *C) putWithProgress(logs map[string]*progressLog, what, key string, body io.Reader, opts objstore.PutOptions, pc progressCheck) (objstore.Attrs, error) {
	c.Helper()
	p := &progressLog{}
	logs[what] = p
	opts.Progress = p.fn
	a, err := c.s.Put(c.ctx, key, body, &opts)
	p.returned.Store(true)
	if err != nil && pc.ok {
		c.ok(err, what)
	}
	pc.what = what
	c.checkProgress(p, pc)
	return a, err
}

// P8: Progress on Put, for bodies of known and unknown size, empty, in
// one request, and for Puts that fail.
func caseProgress(c *C) {
	logs := map[string]*progressLog{}
	small := gen(30, 3000)
	c.putWithProgress(logs, "Put of 3000 bytes with Len", "known", bytes.NewReader(small), objstore.PutOptions{},
		progressCheck{size: 3000, known: true, ok: true})
	c.content("known", small, "")
	c.putWithProgress(logs, "Put of 3000 bytes of unknown size", "unknown", genReader(30, 3000), objstore.PutOptions{},
		progressCheck{size: 3000, ok: true})
	c.content("unknown", small, "")
	c.putWithProgress(logs, "Put of 3000 bytes with ReadAt and Size", "at", pattern(31, 3000), objstore.PutOptions{},
		progressCheck{size: 3000, known: true, ok: true})
	c.sameReader("at", pattern(31, 3000), 3000)
	c.putWithProgress(logs, "Put of zero bytes", "empty", bytes.NewReader(nil), objstore.PutOptions{},
		progressCheck{size: 0, known: true, ok: true})
	c.content("empty", nil, "")
	// 3 MiB, below every driver's multipart threshold: one request, whose
	// progress may not come more often than once per MiB.
	mid := gen(32, 3<<20+5)
	c.putWithProgress(logs, "Put of 3 MiB with Len", "mid", bytes.NewReader(mid), objstore.PutOptions{},
		progressCheck{size: int64(len(mid)), known: true, ok: true})
	c.content("mid", mid, "")

	// Failures: no call after Put returns, and the calls made keep the
	// rules.
	_, err := c.putWithProgress(logs, "Put whose body fails", "failed", &failingReader{r: bytes.NewReader(gen(33, 10000)), n: 5000},
		objstore.PutOptions{}, progressCheck{size: 10000})
	if err == nil {
		c.Errorf("a Put whose body failed returned no error")
	}
	// A Put the server refuses after the body may have been sent. A store
	// without atomic IfAbsent refuses it at once (P4 reports that).
	_, err = c.putWithProgress(logs, "Put IfAbsent over an existing key", "known", bytes.NewReader(small), objstore.PutOptions{IfAbsent: true},
		progressCheck{size: 3000, known: true})
	if !errors.Is(err, objstore.ErrUnsupported) {
		c.wantErr(err, objstore.ErrExists, "Put IfAbsent over an existing key")
	}
	c.lateProgress(logs)
}

// P8: Progress on Puts above the multipart threshold: a body of unknown
// size, whose total stays -1 until its end, and one read with ReadAt.
func caseProgressLarge(c *C) {
	n := slices.Min(c.r.h.LargeSizes)
	logs := map[string]*progressLog{}
	c.putWithProgress(logs, fmt.Sprintf("Put of %d bytes of unknown size", n), "unknown", genReader(34, n), c.r.h.LargePut,
		progressCheck{size: n, ok: true})
	c.sameStream("unknown", 34, n)
	c.putWithProgress(logs, fmt.Sprintf("Put of %d bytes with ReadAt and Size", n), "at", pattern(35, n), c.r.h.LargePut,
		progressCheck{size: n, known: true, ok: true})
	c.sameReader("at", pattern(35, n), n)
	for _, k := range []string{"unknown", "at"} {
		c.ok(c.s.Delete(c.ctx, k), "Delete")
	}
	c.lateProgress(logs)
}

// copyWithProgress copies src to dst with opts and a progressLog, and
// checks the calls.
func (c *C) copyWithProgress(logs map[string]*progressLog, what, dst, src string, opts objstore.CopyOptions, pc progressCheck) (objstore.Attrs, error) {
	c.Helper()
	p := &progressLog{}
	logs[what] = p
	opts.Progress = p.fn
	a, err := c.s.Copy(c.ctx, dst, src, &opts)
	p.returned.Store(true)
	if err != nil && pc.ok {
		c.ok(err, what)
	}
	pc.what = what
	c.checkProgress(p, pc)
	return a, err
}

// C7: Progress on Copy: small, empty, above the multipart thresholds, and
// failing. The driver may learn src's size only at the end (total -1
// until then).
func caseCopyProgress(c *C) {
	logs := map[string]*progressLog{}
	small := gen(36, 3000)
	c.put("src", small, nil)
	c.copyWithProgress(logs, "Copy of 3000 bytes", "dst", "src", objstore.CopyOptions{}, progressCheck{size: 3000, ok: true})
	c.content("dst", small, "")
	c.put("empty", nil, nil)
	c.copyWithProgress(logs, "Copy of zero bytes", "dst-empty", "empty", objstore.CopyOptions{}, progressCheck{size: 0, ok: true})
	c.content("dst-empty", nil, "")
	_, err := c.copyWithProgress(logs, "Copy from a missing key", "dst-missing", "missing", objstore.CopyOptions{}, progressCheck{size: 0})
	c.wantErr(err, objstore.ErrNotFound, "Copy from a missing key")

	n := slices.Min(c.r.h.LargeSizes)
	opts := c.r.h.LargePut
	_, err = c.s.Put(c.ctx, "large", genReader(37, n), &opts)
	c.ok(err, fmt.Sprintf("Put of %d bytes", n))
	c.copyWithProgress(logs, fmt.Sprintf("Copy of %d bytes", n), "dst-large", "large", objstore.CopyOptions{}, progressCheck{size: n, ok: true})
	c.sameStream("dst-large", 37, n)
	for _, k := range []string{"large", "dst-large"} {
		c.ok(c.s.Delete(c.ctx, k), "Delete")
	}
	c.lateProgress(logs)
}
