package main

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestBarLine: at every width from 100 columns down to 5 the line fits,
// so it never wraps; the name is shortened from the left, and the rate
// and ETA show while there is room (issue 15, item 5).
func TestBarLine(t *testing.T) {
	name := "reports/2026/quarterly/really-long-name-of-a-report-file-q4.pdf" // 61 columns
	b := &bar{name: name, total: 10 << 20, done: 4 << 20}
	for width := 100; width >= 5; width-- {
		line := b.line(width, 2*time.Second)
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("at %d columns the line is %d: %q", width, n, line)
		}
		if width >= 60 && (!strings.Contains(line, "2.0MiB/s") || !strings.Contains(line, "ETA 0:03") || !strings.Contains(line, " 40% ")) {
			t.Errorf("at %d columns: %q; want the percentage, rate and ETA", width, line)
		}
		if width >= 70 && !strings.Contains(line, " [==") {
			t.Errorf("at %d columns: %q; want the bar", width, line)
		}
		if width >= 40 && !strings.HasSuffix(strings.Fields(line)[0], "q4.pdf") {
			t.Errorf("at %d columns the name is %q; want its end kept", width, strings.Fields(line)[0])
		}
	}
	if got := b.line(79, 2*time.Second); !strings.HasPrefix(got, "…") {
		t.Errorf("at 80 columns: %q, want the name shortened", got)
	}
	unknown := &bar{name: "stdin", total: -1, done: 3 << 20}
	if got := unknown.line(79, time.Second); got != "stdin 3.0MiB 3.0MiB/s" {
		t.Errorf("a bar of unknown size: %q", got)
	}
}
