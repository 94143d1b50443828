package faultproxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/objstore-go/objstore"
)

// IgnoredRange is the scenario of a server, or a proxy in front of it,
// that ignores the Range header and answers a ranged GET with the whole
// object (rule G5 of docs/SEMANTICS.md). Through a Cut with IgnoreRange on,
// it checks that:
//
//   - a Get of a range that the whole object cannot stand for (one that
//     starts past byte 0, or ends before the object does) fails with an
//     *objstore.Error of no class that names the driver and the key, and
//     serves no byte: huge lengths included, the Range{10,
//     math.MaxInt64} among them;
//   - a Get that the whole object does answer (a range from byte 0 to the
//     end or past it) serves exactly the right bytes;
//   - a read whose body breaks midway, and whose resumption is answered
//     with the whole object, fails after the bytes before the break and
//     serves none of the whole object's.
type IgnoredRange struct {
	Proxied, Direct objstore.Store // one store, through Proxy and directly
	Proxy           *Cut
	Driver          string // the scheme errors must name
}

// Run runs the scenario as subtests of t.
func (sc IgnoredRange) Run(t *testing.T) {
	const size = 1000
	data := make([]byte, size)
	rand.Read(data)
	put := func(t *testing.T, key string) {
		t.Helper()
		if _, err := sc.Direct.Put(t.Context(), key, bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
	}
	// whole reads key through the proxy, which records the whole object.
	whole := func(t *testing.T, key string) {
		t.Helper()
		got, r, err := readAll(sc.Proxied, t, key, nil)
		if err != nil || !bytes.Equal(got, data) || r.Offset != 0 || r.Length != size {
			t.Fatalf("the whole object through the proxy: %d bytes (equal: %v), %v", len(got), bytes.Equal(got, data), err)
		}
	}
	t.Run("get", func(t *testing.T) {
		const key = "ignored-range"
		put(t, key)
		sc.Proxy.Arm(key, 0, nil)
		sc.Proxy.IgnoreRange(true)
		defer sc.Proxy.IgnoreRange(false)
		whole(t, key)
		refused := []objstore.Range{
			{Offset: 10, Length: math.MaxInt64}, // the case
			{Offset: 10, Length: math.MaxInt64 - 10},
			{Offset: 1, Length: math.MaxInt64},
			{Offset: 10, Length: 20},
			{Offset: 10, Length: -1},
			{Offset: size - 1, Length: 1},
			{Offset: size - 1, Length: math.MaxInt64},
		}
		for _, rg := range refused {
			r, err := sc.Proxied.Get(t.Context(), key, &objstore.GetOptions{Range: &rg})
			what := fmt.Sprintf("Get(Range{%d, %d}) answered with the whole object", rg.Offset, rg.Length)
			if err == nil {
				got, rerr := io.ReadAll(r)
				r.Close()
				t.Errorf("%s: served Offset %d Length %d and %d bytes (%v); want an error and no byte", what, r.Offset, r.Length, len(got), rerr)
				continue
			}
			sc.checkError(t, what, key, err)
		}
		// The whole object is the right answer to these, when a driver asks
		// for them with a Range header at all.
		served := []objstore.Range{
			{Offset: 0, Length: size},
			{Offset: 0, Length: math.MaxInt64},
			{Offset: 0, Length: -1},
		}
		for _, rg := range served {
			got, r, err := readAll(sc.Proxied, t, key, &rg)
			if err != nil || r.Offset != 0 || r.Length != size || !bytes.Equal(got, data) {
				t.Errorf("Get(Range{%d, %d}): %d bytes (equal: %v), %v; want the whole object", rg.Offset, rg.Length, len(got), bytes.Equal(got, data), err)
			}
		}
		// A range from byte 0 that ends early may be read as a prefix of
		// the whole object (azblob asks so) or be refused; never anything
		// else.
		rg := objstore.Range{Offset: 0, Length: 10}
		if got, r, err := readAll(sc.Proxied, t, key, &rg); err != nil {
			sc.checkError(t, "Get(Range{0, 10})", key, err)
		} else if r.Offset != 0 || r.Length != 10 || !bytes.Equal(got, data[:10]) {
			t.Errorf("Get(Range{0, 10}): Offset %d Length %d and %d bytes (equal: %v); want the first 10 bytes", r.Offset, r.Length, len(got), bytes.Equal(got, data[:10]))
		}
		if n := sc.Proxy.Replaced(); n < len(refused) {
			t.Errorf("the proxy answered %d ranged GETs with the whole object; want at least %d, one per refused range", n, len(refused))
		}
	})
	t.Run("resume", func(t *testing.T) {
		const key, cutAt = "ignored-range-resume", 400
		put(t, key)
		// The first GET, of the whole object, breaks after cutAt bytes;
		// the resumption asks for the rest and gets the whole object.
		sc.Proxy.Arm(key, cutAt, nil)
		sc.Proxy.IgnoreRange(true)
		defer sc.Proxy.IgnoreRange(false)
		got, _, err := readAll(sc.Proxied, t, key, nil)
		if err == nil {
			t.Fatalf("a read resumed with the whole object succeeded with %d bytes (equal: %v); want an error", len(got), bytes.Equal(got, data))
		}
		sc.checkError(t, "a read resumed with the whole object", key, err)
		if len(got) != cutAt || !bytes.Equal(got, data[:cutAt]) {
			t.Errorf("read %d bytes before the error; want the %d before the break, and no byte of the resumption", len(got), cutAt)
		}
		if gets, n := len(sc.Proxy.Gets()), sc.Proxy.Replaced(); gets != 2 || n != 1 {
			t.Errorf("the proxy saw %d GETs and replaced %d responses; want 2 GETs, the broken one and one resumption answered with the whole object", gets, n)
		}
	})
}

// checkError fails t unless err is the error of a response that does not
// carry the bytes asked for: an *objstore.Error of the driver, op get and
// key, of no class.
func (sc IgnoredRange) checkError(t *testing.T, what, key string, err error) {
	t.Helper()
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Driver != sc.Driver || oe.Op != "get" || oe.Key != key || oe.Kind != nil {
		t.Errorf("%s: %v; want an *objstore.Error of driver %s, op get, key %q and no class", what, err, sc.Driver, key)
	}
}

// readAll gets key (or rng of it) from s and reads the Reader to its end.
func readAll(s objstore.Store, t *testing.T, key string, rng *objstore.Range) ([]byte, *objstore.Reader, error) {
	r, err := s.Get(t.Context(), key, &objstore.GetOptions{Range: rng})
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	return got, r, err
}
