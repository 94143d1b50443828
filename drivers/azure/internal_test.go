package azure

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestBlockLimits checks Azure's limits with the upload engine's growth
// rule: 50,000 blocks hold a 38 TiB stream from any block size, the
// default block size stays for the first 39 GiB (as its 5,000 blocks did
// before the engine), and 4000 MiB blocks hold Azure's largest blob.
func TestBlockLimits(t *testing.T) {
	const mib = 1 << 20
	lim := limits()
	for _, base := range []int64{1, 1 << 10, mib, 8 * mib, 100 * mib, 4000 * mib} {
		g := lim.Group(base)
		if c := lim.Capacity(base, g); c < streamMax {
			t.Errorf("blocks from %d bytes hold %d bytes, less than %d", base, c, int64(streamMax))
		}
		t.Logf("block size %10d: doubles every %5d blocks (after %d MiB)", base, g, int64(g)*base/mib)
	}
	if g := lim.Group(8 * mib); int64(g)*8*mib < 39<<30 {
		t.Errorf("8 MiB blocks double after %d blocks", g)
	}
	if got, want := int64(lim.MaxParts)*lim.SizeAt(4000*mib, lim.Group(4000*mib), lim.MaxParts), int64(maxBlocks)*4000*mib; got != want {
		t.Errorf("50,000 blocks of 4000 MiB hold %d, want %d", got, want)
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
