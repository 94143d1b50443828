package file_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/file"
)

// TestIfMatchRaceAcrossProcesses races IfMatch puts from several
// processes, each a copy of this test binary running
// TestHelperProcessPut: exactly one may win.
func TestIfMatchRaceAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	s, _ := file.New(dir, nil)
	base := put(t, s, "k", "base", nil)
	const n = 6
	outs := make([]string, n)
	errs := make([]error, n)
	// Each helper reads its body from stdin, and commits when it ends:
	// closing every stdin at once releases the racers together.
	var wg sync.WaitGroup
	stdins := make([]io.WriteCloser, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessPut$")
		cmd.Env = append(os.Environ(), "FILE_TEST_HELPER_DIR="+dir, "FILE_TEST_HELPER_ETAG="+base.ETag)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdins[i] = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, "racer ", i)
		wg.Go(func() {
			errs[i] = cmd.Wait()
			outs[i] = out.String()
		})
	}
	for _, w := range stdins {
		w.Close()
	}
	wg.Wait()
	wins := 0
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
		case strings.Contains(outs[i], "RESULT won"):
			wins++
		case !strings.Contains(outs[i], "RESULT precondition"):
			t.Errorf("process %d said:\n%s", i, outs[i])
		}
	}
	if wins != 1 {
		t.Errorf("%d processes won, want exactly 1", wins)
	}
}

// TestHelperProcessPut is one racer of TestIfMatchRaceAcrossProcesses.
func TestHelperProcessPut(t *testing.T) {
	dir := os.Getenv("FILE_TEST_HELPER_DIR")
	if dir == "" {
		t.Skip("a helper of TestIfMatchRaceAcrossProcesses")
	}
	s, _ := file.New(dir, nil)
	_, err := s.Put(t.Context(), "k", os.Stdin, &objstore.PutOptions{IfMatch: os.Getenv("FILE_TEST_HELPER_ETAG")})
	switch {
	case err == nil:
		fmt.Println("RESULT won")
	case errors.Is(err, objstore.ErrPrecondition):
		fmt.Println("RESULT precondition")
	default:
		t.Fatal(err)
	}
}
