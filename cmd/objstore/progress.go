package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, where progress bars go.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a byte progress bar on one line of stderr, or nothing when
// stderr is not a terminal or -q was given. The line never wraps: it is
// laid out for the terminal's width at each redraw, the name shortened
// from the left and the parts that do not fit left out. Its methods are
// safe for concurrent use, and a nil *bar does nothing.
type bar struct {
	w     io.Writer
	width func() int // the terminal's columns
	name  string
	total int64 // -1: unknown

	mu    sync.Mutex
	done  int64
	start time.Time
	drawn time.Time
	now   func() time.Time
}

func newBar(stderr io.Writer, quiet bool, total int64, desc string) *bar {
	if quiet || !isTerminal(stderr) {
		return nil
	}
	fd := int(stderr.(*os.File).Fd())
	width := func() int {
		w, _, err := term.GetSize(fd)
		if err != nil || w <= 0 {
			return 80
		}
		return w
	}
	b := &bar{w: stderr, width: width, name: desc, total: total, now: time.Now}
	b.start = b.now()
	b.draw()
	return b
}

func (b *bar) add(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if b.now().Sub(b.drawn) >= 100*time.Millisecond {
		b.drawLocked()
	}
}

func (b *bar) draw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drawLocked()
}

func (b *bar) drawLocked() {
	now := b.now()
	b.drawn = now
	// One column short of the width: a line that fills the last column
	// wraps on some terminals.
	line := b.line(b.width()-1, now.Sub(b.start))
	io.WriteString(b.w, "\r"+line+"\x1b[K")
}

// line lays out the bar for width columns after elapsed time.
func (b *bar) line(width int, elapsed time.Duration) string {
	var pct, amount, rate, eta string
	amount = compactSize(b.done)
	if b.total >= 0 {
		amount += "/" + compactSize(b.total)
		p := 100
		if b.total > 0 {
			p = int(b.done * 100 / b.total)
		}
		pct = fmt.Sprintf("%3d%%", p)
	}
	if secs := elapsed.Seconds(); secs >= 0.5 && b.done > 0 {
		r := float64(b.done) / secs
		rate = compactSize(int64(r)) + "/s"
		if b.total >= 0 && r > 0 {
			left := time.Duration(float64(b.total-b.done) / r * float64(time.Second))
			eta = "ETA " + clock(left)
		}
	}
	// The parts, from the most to the least needed; each is dropped, last
	// first, until the line fits with a name of at least 8 columns.
	parts := []string{pct, amount, rate, eta}
	for {
		stats := join(parts)
		room := width - len(stats)
		if stats != "" {
			room-- // the space after the name
		}
		// The name comes first, up to 20 columns; the bar takes what
		// is left, from 10 to 30 columns.
		barWidth := 0
		nameWant := max(min(utf8.RuneCountInString(b.name), 20), 8)
		if b.total >= 0 && room-nameWant-2 >= 10 {
			barWidth = min(room-nameWant-2, 30)
			room -= barWidth + 2
		}
		if room >= 8 || len(nonEmpty(parts)) == 0 {
			name := shorten(b.name, max(room, 0))
			out := name
			if barWidth > 0 {
				fill := 0
				if b.total > 0 {
					fill = int(int64(barWidth-2) * b.done / b.total)
				} else if b.total == 0 {
					fill = barWidth - 2
				}
				out += strings.Repeat(" ", room-utf8.RuneCountInString(name)) + " [" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-2-fill) + "]"
			}
			if stats != "" {
				out += " " + stats
			}
			return out
		}
		for i := len(parts) - 1; i >= 0; i-- {
			if parts[i] != "" {
				parts[i] = ""
				break
			}
		}
	}
}

func nonEmpty(parts []string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func join(parts []string) string { return strings.Join(nonEmpty(parts), " ") }

// shorten fits name in width columns, keeping its end, which tells keys
// apart: "…ports/2026/report.pdf".
func shorten(name string, width int) string {
	n := utf8.RuneCountInString(name)
	if n <= width {
		return name
	}
	if width <= 1 {
		return strings.Repeat("…", width)
	}
	r := []rune(name)
	return "…" + string(r[n-(width-1):])
}

// compactSize is formatSize without the space: "4.5MiB".
func compactSize(n int64) string { return strings.ReplaceAll(formatSize(n), " ", "") }

// clock prints a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
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

// finish clears the bar's line.
func (b *bar) finish() {
	if b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		io.WriteString(b.w, "\r\x1b[K")
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
