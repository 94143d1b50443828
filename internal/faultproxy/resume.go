package faultproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

// Resume is the resumable-read scenario: it cuts the body of a Get midway
// and checks that the Reader resumes with one ranged GET pinned to the
// ETag and reads the object back byte for byte; and that when the object
// is overwritten between the cut and the resumption, Read returns
// ErrPrecondition after a prefix of the old content only.
type Resume struct {
	Proxied, Direct objstore.Store // one store, through Proxy and directly
	Proxy           *Cut
	Driver          string                     // the scheme errors must name
	RangeOf         func(h http.Header) string // the range a GET asked for
	ExtraRanges     []*objstore.Range          // ranges to try besides the whole object and one in the middle
}

// Run runs the scenario as subtests of t.
func (sc Resume) Run(t *testing.T) {
	ctx := context.Background()
	const size, cutAt = 8 << 20, 3<<20 + 12345
	old := make([]byte, size)
	rand.Read(old)

	type test struct {
		name      string
		rng       *objstore.Range
		overwrite bool
	}
	tests := []test{
		{name: "whole"},
		{name: "range", rng: &objstore.Range{Offset: 1000, Length: 6 << 20}},
		{name: "overwritten", overwrite: true},
	}
	for i, r := range sc.ExtraRanges {
		tests = append(tests, test{name: fmt.Sprintf("extra-%d", i), rng: r})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "big-" + tt.name
			a, err := sc.Direct.Put(ctx, key, bytes.NewReader(old), nil)
			if err != nil {
				t.Fatal(err)
			}
			var onCut func()
			if tt.overwrite {
				onCut = func() {
					if _, err := sc.Direct.Put(ctx, key, strings.NewReader("new content"), nil); err != nil {
						t.Errorf("overwriting during the cut: %v", err)
					}
				}
			}
			sc.Proxy.Arm(key, cutAt, onCut)
			r, err := sc.Proxied.Get(ctx, key, &objstore.GetOptions{Range: tt.rng})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			off, end := int64(0), int64(size)
			if tt.rng != nil {
				off, end = tt.rng.Offset, tt.rng.Offset+tt.rng.Length
			}
			want := old[off:end]
			if tt.overwrite {
				var oe *objstore.Error
				if !errors.Is(err, objstore.ErrPrecondition) || !errors.As(err, &oe) || oe.Driver != sc.Driver || oe.Key != key {
					t.Errorf("reading across an overwrite: %v; want an *objstore.Error of class ErrPrecondition", err)
				}
				if len(got) != cutAt || !bytes.Equal(got, want[:len(got)]) {
					t.Errorf("read %d bytes before the error; want the first %d of the old content", len(got), cutAt)
				}
			} else if err != nil || !bytes.Equal(got, want) {
				t.Errorf("ReadAll: %d bytes (equal: %v), %v; want the %d bytes of the range", len(got), bytes.Equal(got, want), err, len(want))
			}
			gets := sc.Proxy.Gets()
			if len(gets) != 2 {
				t.Fatalf("the proxy saw %d GETs of the key; want 2, the cut one and one resumption", len(gets))
			}
			wantRange := fmt.Sprintf("bytes=%d-%d", off+cutAt, end-1)
			if rg, im := sc.RangeOf(gets[1]), gets[1].Get("If-Match"); rg != wantRange || im != a.ETag {
				t.Errorf("the resumption asked for range %q If-Match %q; want %q and %q", rg, im, wantRange, a.ETag)
			}
		})
	}
}
