package azure_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestNoStdout runs the whole conformance suite, with the default copy
// strategy (auto), while os.Stdout is a pipe, and fails if the driver or
// the SDKs under it wrote anything there. The testing package keeps its
// own handle on the real stdout, so its output is not captured.
func TestNoStdout(t *testing.T) {
	base := testenv.URL(t, azureURLVar)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, r)
		captured <- buf.Bytes()
	}()
	stdout := os.Stdout
	os.Stdout = w
	restore := func() {
		if os.Stdout == w {
			os.Stdout = stdout
			w.Close()
		}
	}
	defer restore()

	t.Run("copy=auto", func(t *testing.T) {
		conformance.Run(t, harness(withParams(t, base, "copy", "auto")))
	})

	restore()
	if out := <-captured; len(out) > 0 {
		t.Errorf("%d bytes were written to stdout during the suite:\n%.2000s", len(out), out)
	}
}
