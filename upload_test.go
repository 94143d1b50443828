package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/file"
	"github.com/objstore-go/objstore/drivers/memory"
	"github.com/objstore-go/objstore/faults"
)

// writeFile writes data to a new file in a temporary directory.
func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// uploadStores returns a fresh store of each local driver.
func uploadStores(t *testing.T) map[string]objstore.Store {
	fst, err := file.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fst.Close() })
	return map[string]objstore.Store{"mem": memory.New(), "file": fst}
}

func TestUploadFileRoundTrip(t *testing.T) {
	for name, s := range uploadStores(t) {
		for _, size := range []int{0, 1, 4096, 3<<20 + 5} {
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				ctx := context.Background()
				data := randomBytes(size, uint64(size)+9)
				path := writeFile(t, data)
				prog := &progressLog{t: t}
				key := fmt.Sprintf("up/%d", size)
				a, err := objstore.UploadFile(ctx, s, key, path, &objstore.UploadOptions{
					PutOptions: objstore.PutOptions{ContentType: "text/x-test", Metadata: map[string]string{"Origin": "upload"}},
					Progress:   prog.fn,
				})
				if err != nil {
					t.Fatal(err)
				}
				got, st, err := objstore.ReadAll(ctx, s, key)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("the object holds %d bytes that differ from the file's %d", len(got), len(data))
				}
				if a.Key != key || a.Size != int64(size) || a.ETag != st.ETag || st.ContentType != "text/x-test" || st.Metadata["origin"] != "upload" {
					t.Errorf("UploadFile returned %+v; Stat says %+v", a, st)
				}
				prog.checkFinal(int64(size))
			})
		}
	}
}

func TestUploadFileConditions(t *testing.T) {
	for name, s := range uploadStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			old := putObject(t, s, "k", []byte("old"))
			path := writeFile(t, []byte("new content"))

			_, err := objstore.UploadFile(ctx, s, "k", path, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfAbsent: true}})
			if !errors.Is(err, objstore.ErrExists) {
				t.Errorf("IfAbsent over an existing key = %v, want ErrExists", err)
			}
			_, err = objstore.UploadFile(ctx, s, "k", path, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfMatch: `"stale"`}})
			if !errors.Is(err, objstore.ErrPrecondition) {
				t.Errorf("a stale IfMatch = %v, want ErrPrecondition", err)
			}
			if got, _, _ := objstore.ReadAll(ctx, s, "k"); string(got) != "old" {
				t.Errorf("the object holds %q after failed conditional uploads, want %q", got, "old")
			}
			a, err := objstore.UploadFile(ctx, s, "k", path, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfMatch: old.ETag}})
			if err != nil {
				t.Fatalf("IfMatch with the current ETag = %v", err)
			}
			if got, _, _ := objstore.ReadAll(ctx, s, "k"); string(got) != "new content" || a.Size != 11 {
				t.Errorf("the object holds %q, want %q", got, "new content")
			}
			if _, err := objstore.UploadFile(ctx, s, "fresh", path, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfAbsent: true}}); err != nil {
				t.Errorf("IfAbsent on a new key = %v", err)
			}
		})
	}
}

// putHook wraps a Store and calls hook with the body of each Put, after
// the driver's first Read; it records the size the body announced.
type putHook struct {
	objstore.Store
	first func()
	mu    sync.Mutex
	lens  []int
}

func (p *putHook) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	p.mu.Lock()
	if l, ok := body.(interface{ Len() int }); ok {
		p.lens = append(p.lens, l.Len())
	} else {
		p.lens = append(p.lens, -1)
	}
	p.mu.Unlock()
	return p.Store.Put(ctx, key, &firstRead{r: body, hook: p.first}, opts)
}

type firstRead struct {
	r    io.Reader
	once sync.Once
	hook func()
}

func (f *firstRead) Read(p []byte) (int, error) {
	if len(p) > 1000 {
		p = p[:1000] // leave some of the file for after the hook
	}
	n, err := f.r.Read(p)
	if f.hook != nil {
		f.once.Do(f.hook)
	}
	return n, err
}

func TestUploadFileAnnouncesSize(t *testing.T) {
	data := randomBytes(12345, 1)
	s := &putHook{Store: memory.New()}
	if _, err := objstore.UploadFile(context.Background(), s, "k", writeFile(t, data), nil); err != nil {
		t.Fatal(err)
	}
	if len(s.lens) != 1 || s.lens[0] != len(data) {
		t.Errorf("the Put's body announced Len %v, want [%d]", s.lens, len(data))
	}
}

func TestUploadFileChangedWhileRead(t *testing.T) {
	data := randomBytes(50_000, 2)
	tests := []struct {
		name   string
		change func(path string) error
	}{
		{"grows", func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}},
		{"shrinks", func(path string) error { return os.Truncate(path, 20_000) }},
		{"truncated to its end", func(path string) error { return os.Truncate(path, 1000) }},
	}
	for _, tt := range tests {
		for name, base := range uploadStores(t) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx := context.Background()
				putObject(t, base, "k", []byte("old"))
				path := writeFile(t, data)
				s := &putHook{Store: base, first: func() {
					if err := tt.change(path); err != nil {
						t.Error(err)
					}
				}}
				_, err := objstore.UploadFile(ctx, s, "k", path, nil)
				if err == nil || !strings.Contains(err.Error(), "the file changed") {
					t.Fatalf("UploadFile of a file that changed = %v, want an error saying so", err)
				}
				if got, _, _ := objstore.ReadAll(ctx, base, "k"); string(got) != "old" {
					t.Errorf("the object holds %d bytes, want the previous %q", len(got), "old")
				}
			})
		}
	}
}

func TestUploadFileErrors(t *testing.T) {
	ctx := context.Background()
	s := faults.Wrap(memory.New(), "mem")
	putObject(t, s, "k", []byte("old"))
	dir := t.TempDir()

	_, err := objstore.UploadFile(ctx, s, "k", filepath.Join(dir, "missing"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("UploadFile of a missing file = %v, want fs.ErrNotExist", err)
	}
	_, err = objstore.UploadFile(ctx, s, "k", dir, nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("UploadFile of a directory = %v, want ErrInvalidArgument saying it is not a regular file", err)
	}

	path := writeFile(t, randomBytes(10_000, 4))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = objstore.UploadFile(cctx, s, "k", path, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("UploadFile with a cancelled context = %v, want context.Canceled", err)
	}

	s.Inject(faults.Fault{Op: faults.OpPut, AfterBytes: 5000})
	_, err = objstore.UploadFile(ctx, s, "k", path, nil)
	if !errors.Is(err, objstore.ErrThrottled) {
		t.Errorf("UploadFile with a failing Put = %v, want the injected ErrThrottled", err)
	}
	if got, _, _ := objstore.ReadAll(ctx, s, "k"); string(got) != "old" {
		t.Errorf("the object holds %d bytes after failed uploads, want the previous %q", len(got), "old")
	}
}
