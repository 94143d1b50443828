package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
	"github.com/objstore-go/objstore/faults"
)

// randomBytes returns n bytes that differ with seed.
func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// progressLog records a transfer's progress calls and checks the rules of
// Progress: calls never overlap and done never decreases while total stays
// the same.
type progressLog struct {
	t        testing.TB
	restarts int // expected restarts, each of which may add a call
	inFlight atomic.Int32
	mu       sync.Mutex
	calls    [][2]int64
}

func (p *progressLog) fn(done, total int64) {
	if p.inFlight.Add(1) != 1 {
		p.t.Errorf("Progress(%d, %d) called while another call runs", done, total)
	}
	defer p.inFlight.Add(-1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.calls); n > 0 {
		last := p.calls[n-1]
		if last[1] == total && done <= last[0] {
			p.t.Errorf("Progress(%d, %d) after Progress(%d, %d): done did not grow", done, total, last[0], last[1])
		}
	}
	if done > total || done < 0 {
		p.t.Errorf("Progress(%d, %d): done out of range", done, total)
	}
	p.calls = append(p.calls, [2]int64{done, total})
}

// checkFinal checks that the last call reported the whole of size, and
// that the calls were not more than one per MiB plus the first and last.
func (p *progressLog) checkFinal(size int64) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		p.t.Fatalf("Progress was never called")
	}
	if last := p.calls[len(p.calls)-1]; last != [2]int64{size, size} {
		p.t.Errorf("last Progress call = %v, want [%d %d]", last, size, size)
	}
	if first := p.calls[0]; first[0] != 0 || (p.restarts == 0 && first[1] != size) {
		p.t.Errorf("first Progress call = %v, want [0 %d]", first, size)
	}
	if max := size>>20 + 2 + int64(p.restarts); int64(len(p.calls)) > max {
		p.t.Errorf("Progress called %d times for %d bytes; want at most %d", len(p.calls), size, max)
	}
}

// getLog wraps a Store and records every Get, the readers open at once
// and the most of them ever open.
type getLog struct {
	objstore.Store
	mu      sync.Mutex
	gets    []objstore.GetOptions
	open    int
	maxOpen int
}

func (g *getLog) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	g.mu.Lock()
	var o objstore.GetOptions
	if opts != nil {
		o = *opts
		if o.Range != nil {
			r := *o.Range
			o.Range = &r
		}
	}
	g.gets = append(g.gets, o)
	g.open++
	g.maxOpen = max(g.maxOpen, g.open)
	g.mu.Unlock()
	r, err := g.Store.Get(ctx, key, opts)
	if err != nil {
		g.closed()
		return nil, err
	}
	return objstore.NewReader(&closeHook{ReadCloser: r, hook: g.closed}, r.Attrs, r.Offset, r.Length), nil
}

func (g *getLog) closed() {
	g.mu.Lock()
	g.open--
	g.mu.Unlock()
}

type closeHook struct {
	io.ReadCloser
	once sync.Once
	hook func()
}

func (c *closeHook) Close() error {
	c.once.Do(c.hook)
	return c.ReadCloser.Close()
}

// overwriter wraps a Store and, after each Get that is not pinned to a
// version (no IfMatch: the Get that starts a download attempt and learns
// the version), replaces the object with new content, as another writer
// would; it does so n times. That is, each of the first n download
// attempts sees the object change under it.
type overwriter struct {
	objstore.Store
	t       testing.TB
	mu      sync.Mutex
	n       int
	version int
	last    []byte
}

func (w *overwriter) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	r, err := w.Store.Get(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n > 0 && (opts == nil || opts.IfMatch == "") {
		w.n--
		w.version++
		w.last = randomBytes(int(r.Attrs.Size)+w.version, uint64(100+w.version))
		if _, err := w.Store.Put(context.Background(), key, bytes.NewReader(w.last), nil); err != nil {
			w.t.Errorf("overwriting %q: %v", key, err)
		}
	}
	return r, nil
}

// noConditionalGet wraps a Store whose Get refuses IfMatch, as gocloud's
// does.
type noConditionalGet struct{ objstore.Store }

func (s noConditionalGet) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	if opts != nil && opts.IfMatch != "" {
		return nil, &objstore.Error{Driver: "test", Op: "get", Key: key, Kind: objstore.ErrUnsupported}
	}
	return s.Store.Get(ctx, key, opts)
}

// dirNames lists dir, to check that no temporary file is left behind.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// checkUntouched checks that path still holds old and that dir holds only
// path.
func checkUntouched(t testing.TB, path string, old []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the destination: %v", err)
	}
	if !bytes.Equal(got, old) {
		t.Errorf("the destination changed: %d bytes, want the previous %d", len(got), len(old))
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 || names[0] != filepath.Base(path) {
		t.Errorf("the directory holds %q, want only %q: a temporary file was left behind", names, filepath.Base(path))
	}
}

func putObject(t testing.TB, s objstore.Store, key string, data []byte) objstore.Attrs {
	t.Helper()
	a, err := s.Put(context.Background(), key, bytes.NewReader(data), &objstore.PutOptions{
		ContentType: "application/x-test",
		Metadata:    map[string]string{"origin": "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDownloadFileSizes(t *testing.T) {
	const chunk = 1000
	sizes := []int{0, 1, chunk - 1, chunk, chunk + 1, 5*chunk + 7, 3<<20 + 5}
	for _, parallel := range []bool{false, true} {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("parallel=%v/size=%d", parallel, size), func(t *testing.T) {
				ctx := context.Background()
				mem := memory.New()
				data := randomBytes(size, uint64(size))
				want := putObject(t, mem, "obj", data)
				s := &getLog{Store: mem}
				prog := &progressLog{t: t}
				opts := &objstore.DownloadOptions{Concurrency: 3, ChunkSize: chunk, Progress: prog.fn}
				opts.Threshold = math.MaxInt64 // one stream
				if parallel {
					opts.Threshold = -1
					if size > 1<<20 {
						opts.ChunkSize = 256 << 10
					}
				}
				dir := t.TempDir()
				path := filepath.Join(dir, "out.bin")
				got, err := objstore.DownloadFile(ctx, s, "obj", path, opts)
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, data) {
					t.Errorf("the file holds %d bytes that differ from the object's %d", len(b), len(data))
				}
				if got.Key != want.Key || got.Size != want.Size || got.ETag != want.ETag ||
					got.ContentType != want.ContentType || got.Metadata["origin"] != "test" {
					t.Errorf("DownloadFile returned %+v, want %+v", got, want)
				}
				if names := dirNames(t, dir); len(names) != 1 {
					t.Errorf("the directory holds %q, want only out.bin", names)
				}
				prog.checkFinal(int64(size))

				// The first Get asks for the first chunk and learns the
				// version; every later read is pinned to it, and the reads
				// cover the object once.
				var covered int64
				for i, g := range s.gets {
					switch {
					case i == 0 && (g.IfMatch != "" || g.Range == nil || g.Range.Offset != 0 || g.Range.Length != opts.ChunkSize):
						t.Errorf("the first Get had IfMatch %q and Range %v, want none and the first chunk", g.IfMatch, g.Range)
					case i > 0 && g.IfMatch != want.ETag:
						t.Errorf("a Get had IfMatch %q, want the ETag %q", g.IfMatch, want.ETag)
					case g.Range == nil:
						covered += int64(size)
						continue
					case parallel && g.Range.Length > opts.ChunkSize:
						t.Errorf("a ranged Get of %d bytes, over the chunk size %d", g.Range.Length, opts.ChunkSize)
					}
					covered += max(min(g.Range.Length, int64(size)-g.Range.Offset), 0)
				}
				if covered != int64(size) {
					t.Errorf("the Gets covered %d bytes of %d", covered, size)
				}
				switch {
				case size <= int(opts.ChunkSize) && len(s.gets) != 1:
					t.Errorf("%d Gets for an object of at most a chunk, want 1", len(s.gets))
				case size > int(opts.ChunkSize) && parallel && len(s.gets) < 2:
					t.Errorf("%d Gets for %d bytes in chunks of %d, want ranged reads", len(s.gets), size, opts.ChunkSize)
				case size > int(opts.ChunkSize) && !parallel && len(s.gets) != 2:
					t.Errorf("%d Gets below the threshold, want 2: the first chunk and the rest", len(s.gets))
				}
				if s.maxOpen > opts.Concurrency {
					t.Errorf("%d reads open at once, over Concurrency %d", s.maxOpen, opts.Concurrency)
				}
			})
		}
	}
}

func TestDownloadFileConcurrencyBound(t *testing.T) {
	for _, conc := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			mem := memory.New()
			data := randomBytes(64<<10+3, 7)
			putObject(t, mem, "obj", data)
			s := &getLog{Store: mem}
			path := filepath.Join(t.TempDir(), "out")
			_, err := objstore.DownloadFile(context.Background(), s, "obj", path,
				&objstore.DownloadOptions{Concurrency: conc, ChunkSize: 1 << 10, Threshold: -1})
			if err != nil {
				t.Fatal(err)
			}
			if s.maxOpen > conc || s.maxOpen < 1 {
				t.Errorf("%d reads open at once, want 1..%d", s.maxOpen, conc)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, data) {
				t.Errorf("the file differs from the object")
			}
		})
	}
}

func TestDownloadFileKeepsDestinationOnError(t *testing.T) {
	data := randomBytes(10_000, 3)
	tests := []struct {
		name   string
		fault  faults.Fault
		opts   objstore.DownloadOptions
		target error
	}{
		{"first get throttled", faults.Fault{Op: faults.OpGet}, objstore.DownloadOptions{}, objstore.ErrThrottled},
		{"get fails", faults.Fault{Op: faults.OpGet, Err: objstore.ErrPermission}, objstore.DownloadOptions{}, objstore.ErrPermission},
		{"body breaks", faults.Fault{Op: faults.OpGet, AfterBytes: 4000}, objstore.DownloadOptions{}, objstore.ErrThrottled},
		{"chunk body breaks", faults.Fault{Op: faults.OpGet, AfterBytes: 300}, objstore.DownloadOptions{ChunkSize: 1000, Threshold: -1}, objstore.ErrThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := faults.Wrap(memory.New(), "mem")
			putObject(t, s, "obj", data)
			path := filepath.Join(t.TempDir(), "out")
			old := []byte("previous content")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			s.Inject(tt.fault)
			_, err := objstore.DownloadFile(context.Background(), s, "obj", path, &tt.opts)
			if !errors.Is(err, tt.target) {
				t.Fatalf("DownloadFile = %v, want %v", err, tt.target)
			}
			checkUntouched(t, path, old)
		})
	}
}

// failNth wraps a Store whose nth Get (counted from 1) fails.
type failNth struct {
	objstore.Store
	n     int32
	calls atomic.Int32
}

func (f *failNth) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	if f.calls.Add(1) == f.n {
		return nil, &objstore.Error{Driver: "test", Op: "get", Key: key, Kind: objstore.ErrPermission}
	}
	return f.Store.Get(ctx, key, opts)
}

func TestDownloadFileLaterChunkFails(t *testing.T) {
	for _, conc := range []int{2, 3} {
		mem := memory.New()
		putObject(t, mem, "obj", randomBytes(10_000, 3))
		path := filepath.Join(t.TempDir(), "out")
		old := []byte("previous content")
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		s := &failNth{Store: mem, n: 4}
		_, err := objstore.DownloadFile(context.Background(), s, "obj", path,
			&objstore.DownloadOptions{ChunkSize: 1000, Threshold: -1, Concurrency: conc})
		if !errors.Is(err, objstore.ErrPermission) {
			t.Fatalf("Concurrency %d: DownloadFile = %v, want ErrPermission", conc, err)
		}
		checkUntouched(t, path, old)
	}
}

func TestDownloadFileMissing(t *testing.T) {
	s := memory.New()
	dir := t.TempDir()
	_, err := objstore.DownloadFile(context.Background(), s, "missing", filepath.Join(dir, "out"), nil)
	if !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("DownloadFile of a missing key = %v, want ErrNotFound", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("the directory holds %q, want nothing", names)
	}
}

func TestDownloadFileCancel(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			s := memory.New()
			putObject(t, s, "obj", randomBytes(4<<20, 5))
			path := filepath.Join(t.TempDir(), "out")
			old := []byte("previous content")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var calls int
			opts := &objstore.DownloadOptions{Progress: func(done, total int64) {
				calls++
				if done > 0 {
					cancel() // midway: after the first MiB
				}
			}}
			if parallel {
				opts.ChunkSize, opts.Threshold = 256<<10, -1
			}
			_, err := objstore.DownloadFile(ctx, s, "obj", path, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("DownloadFile = %v, want context.Canceled", err)
			}
			if calls < 2 {
				t.Fatalf("Progress called %d times; the cancel did not come midway", calls)
			}
			checkUntouched(t, path, old)
		})
	}
}

func TestDownloadFileObjectChanges(t *testing.T) {
	tests := []struct {
		name      string
		overwrite int // how many Gets are followed by an overwrite
		wantErr   error
	}{
		{"once: restarts and gets the new version", 1, nil},
		{"twice: gives up", 2, objstore.ErrPrecondition},
		{"always: gives up", 1000, objstore.ErrPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.New()
			putObject(t, mem, "obj", randomBytes(5000, 1))
			w := &overwriter{Store: mem, t: t, n: tt.overwrite}
			var s objstore.Store = w
			path := filepath.Join(t.TempDir(), "out")
			old := []byte("previous content")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			prog := &progressLog{t: t, restarts: 1}
			attrs, err := objstore.DownloadFile(context.Background(), s, "obj", path,
				&objstore.DownloadOptions{ChunkSize: 1000, Threshold: -1, Concurrency: 2, Progress: prog.fn})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DownloadFile = %v, want %v", err, tt.wantErr)
				}
				checkUntouched(t, path, old)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, w.last) {
				t.Errorf("the file holds %d bytes that are not the new version's %d", len(got), len(w.last))
			}
			now, _ := mem.Stat(context.Background(), "obj")
			if attrs.ETag != now.ETag || attrs.Size != int64(len(w.last)) {
				t.Errorf("DownloadFile returned %+v, want the new version %+v", attrs, now)
			}
			prog.checkFinal(int64(len(w.last)))
		})
	}
}

func TestDownloadFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no permission bits")
	}
	dir := t.TempDir()
	// The mode os.OpenFile gives under this process's umask.
	expect := func(perm fs.FileMode) fs.FileMode {
		name := filepath.Join(dir, fmt.Sprintf("ref-%o", perm))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_EXCL, perm)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	s := memory.New()
	putObject(t, s, "obj", []byte("data"))
	putObject(t, s, "empty", nil)
	for _, tt := range []struct {
		mode, want fs.FileMode
	}{{0, expect(0o644)}, {0o600, expect(0o600)}, {0o640, expect(0o640)}, {0o444, expect(0o444)}} {
		for _, key := range []string{"obj", "empty"} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%o", key, tt.mode))
			if _, err := objstore.DownloadFile(context.Background(), s, key, path, &objstore.DownloadOptions{Mode: tt.mode}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.want {
				t.Errorf("Mode %o, %s: the file has mode %o, want %o", tt.mode, key, fi.Mode().Perm(), tt.want)
			}
		}
	}
}

func TestDownloadFileBadDestination(t *testing.T) {
	s := memory.New()
	putObject(t, s, "obj", []byte("data"))
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		is         error
		says       string
	}{
		{"missing directory", filepath.Join(dir, "nope", "out"), fs.ErrNotExist, "does not exist"},
		{"directory at path", filepath.Join(dir, "sub"), nil, "is a directory"},
		{"trailing separator", filepath.Join(dir, "out") + string(filepath.Separator), nil, "names a directory"},
		{"empty", "", nil, "names a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := objstore.DownloadFile(context.Background(), s, "obj", tt.path, nil)
			if err == nil {
				t.Fatal("DownloadFile succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("DownloadFile = %v, want an error wrapping %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("DownloadFile = %q, want it to say %q", err, tt.says)
			}
		})
	}
}

func TestDownloadFileBadOptions(t *testing.T) {
	s := memory.New()
	putObject(t, s, "obj", []byte("data"))
	for _, opts := range []objstore.DownloadOptions{
		{Mode: fs.ModeSetuid | 0o755},
		{Concurrency: -1},
		{ChunkSize: -5},
	} {
		dir := t.TempDir()
		_, err := objstore.DownloadFile(context.Background(), s, "obj", filepath.Join(dir, "out"), &opts)
		if !errors.Is(err, objstore.ErrInvalidArgument) {
			t.Errorf("DownloadFile with %+v = %v, want ErrInvalidArgument", opts, err)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("the directory holds %q, want nothing", names)
		}
	}
}

func ExampleDownloadFile() {
	ctx := context.Background()
	s, err := objstore.Open(ctx, "mem://")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if _, err := s.Put(ctx, "reports/2024.csv", strings.NewReader("year,total\n2024,42\n"), nil); err != nil {
		fmt.Println(err)
		return
	}

	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "2024.csv")

	// path is replaced only once the whole object is on disk.
	attrs, err := objstore.DownloadFile(ctx, s, "reports/2024.csv", path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(path)
	fmt.Print(attrs.Size, " bytes\n", string(data))

	_, err = objstore.DownloadFile(ctx, s, "reports/missing.csv", path, nil)
	fmt.Println(errors.Is(err, objstore.ErrNotFound))
	// Output:
	// 19 bytes
	// year,total
	// 2024,42
	// true
}

// A Store that cannot pin its reads to an ETag cannot promise a file of one
// version: DownloadFile refuses rather than risk mixing two.
func TestDownloadFileNeedsPinnedReads(t *testing.T) {
	mem := memory.New()
	putObject(t, mem, "obj", randomBytes(5000, 1))
	path := filepath.Join(t.TempDir(), "out")
	old := []byte("previous content")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := objstore.DownloadFile(context.Background(), noConditionalGet{mem}, "obj", path,
		&objstore.DownloadOptions{ChunkSize: 1000, Threshold: -1, Concurrency: 2})
	if !errors.Is(err, objstore.ErrUnsupported) {
		t.Fatalf("DownloadFile over unpinnable reads = %v, want ErrUnsupported", err)
	}
	checkUntouched(t, path, old)
}

// wrongOffset wraps a Store whose ranged Gets serve the right number of
// bytes from the wrong place, the start of the object, and say so in
// Reader.Offset.
type wrongOffset struct{ objstore.Store }

func (s wrongOffset) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	if opts != nil && opts.Range != nil && opts.Range.Offset > 0 {
		o := *opts
		o.Range = &objstore.Range{Offset: 0, Length: opts.Range.Length}
		opts = &o
	}
	return s.Store.Get(ctx, key, opts)
}

// DownloadFile writes a chunk only where it was asked for: a Reader that
// serves other bytes than the chunk's fails the download rather than leave
// a hole in the file.
func TestDownloadFileChecksOffsets(t *testing.T) {
	mem := memory.New()
	putObject(t, mem, "obj", randomBytes(5000, 1))
	path := filepath.Join(t.TempDir(), "out")
	old := []byte("previous content")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := objstore.DownloadFile(context.Background(), wrongOffset{mem}, "obj", path,
		&objstore.DownloadOptions{ChunkSize: 1000, Threshold: -1, Concurrency: 2})
	if err == nil || !strings.Contains(err.Error(), "at offset 0 of an object of 5000 where 1000 at offset") {
		t.Fatalf("DownloadFile over misplaced ranges = %v, want an error that names the offsets", err)
	}
	checkUntouched(t, path, old)
}
