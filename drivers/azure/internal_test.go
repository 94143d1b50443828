package azure

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBlockSizeAt(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		base int64
		i    int
		want int64
	}{
		{8 * mib, 0, 8 * mib},
		{8 * mib, 4999, 8 * mib},
		{8 * mib, 5000, 16 * mib},
		{8 * mib, 9999, 16 * mib},
		{8 * mib, 10000, 32 * mib},
		{8 * mib, 45000, 4000 * mib}, // 8 MiB << 9 is past the limit
		{8 * mib, 49999, 4000 * mib},
		{4000 * mib, 0, 4000 * mib},
		{4000 * mib, 5000, 4000 * mib},
		{1, 0, 1},
		{1, 49999, 512},
	}
	for _, tt := range tests {
		if got := blockSizeAt(tt.base, tt.i); got != tt.want {
			t.Errorf("blockSizeAt(%d, %d) = %d, want %d", tt.base, tt.i, got, tt.want)
		}
	}
	// The default block size holds tens of TiB in 50,000 blocks; 4000 MiB
	// blocks hold Azure's maximum.
	if got := capacity(8*mib, maxBlocks); got < 38<<40 {
		t.Errorf("capacity(8 MiB) = %d, want at least 38 TiB", got)
	}
	if got, want := capacity(4000*mib, maxBlocks), int64(maxBlocks)*4000*mib; got != want {
		t.Errorf("capacity(4000 MiB) = %d, want %d", got, want)
	}
	if got := capacity(1<<10, 4); got != 4<<10 {
		t.Errorf("capacity(1 KiB, 4 blocks) = %d", got)
	}
}

func TestContentRangeSize(t *testing.T) {
	tests := []struct {
		v    string
		size int64
		ok   bool
	}{
		{"bytes 0-9/100", 100, true},
		{"bytes */0", 0, true},
		{"bytes */5", 5, true},
		{"bytes 5-4/5", 5, true},
		{"bytes 0-9/*", 0, false},
		{"", 0, false},
		{"items 0-1/2", 0, false},
	}
	for _, tt := range tests {
		if size, ok := contentRangeSize(tt.v); size != tt.size || ok != tt.ok {
			t.Errorf("contentRangeSize(%q) = %d, %v; want %d, %v", tt.v, size, ok, tt.size, tt.ok)
		}
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

func TestPrefixReader(t *testing.T) {
	got, err := io.ReadAll(&prefixReader{b: 'a', r: strings.NewReader("bc")})
	if string(got) != "abc" || err != nil {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestExactReader(t *testing.T) {
	got, err := io.ReadAll(&exactReader{r: strings.NewReader("abc"), n: 3})
	if string(got) != "abc" || err != nil {
		t.Errorf("an exact body: %q, %v", got, err)
	}
	_, err = io.ReadAll(&exactReader{r: strings.NewReader("ab"), n: 3})
	if !errors.Is(err, errShortSource) {
		t.Errorf("a short body: %v, want errShortSource", err)
	}
	got, _ = io.ReadAll(&exactReader{r: strings.NewReader("abcd"), n: 3})
	if string(got) != "abc" {
		t.Errorf("a long body served %q", got)
	}
}
