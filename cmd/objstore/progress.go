package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, where progress bars go.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a byte progress bar on stderr, or nothing when stderr is not a
// terminal or -q was given. Its methods are safe for concurrent use, and
// a nil *bar does nothing.
type bar struct {
	pb *progressbar.ProgressBar
}

func newBar(stderr io.Writer, quiet bool, total int64, desc string) *bar {
	if quiet || !isTerminal(stderr) {
		return nil
	}
	return &bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *bar) add(n int64) {
	if b != nil && n > 0 {
		b.pb.Add64(n)
	}
}

// track returns a progress callback for one transfer (UploadOptions and
// DownloadOptions take one) that adds what it moves to b.
func (b *bar) track() func(done, total int64) {
	if b == nil {
		return nil
	}
	var mu sync.Mutex
	var last int64
	return func(done, _ int64) {
		mu.Lock()
		defer mu.Unlock()
		if done < last { // a restarted download
			last = 0
		}
		b.add(done - last)
		last = done
	}
}

func (b *bar) finish() {
	if b != nil {
		b.pb.Finish()
	}
}

// countingReader adds what it reads to a bar, and reports the bytes left,
// so that drivers can size their buffers.
type countingReader struct {
	r    io.Reader
	left int64
	bar  *bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.bar.add(int64(n))
	return n, err
}

// Len reports the bytes left, like bytes.Reader's Len.
func (c *countingReader) Len() int { return int(max(c.left, 0)) }
