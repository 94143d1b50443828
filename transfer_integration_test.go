package objstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	_ "github.com/objstore-go/objstore/drivers/azure"
	_ "github.com/objstore-go/objstore/drivers/s3"
	"github.com/objstore-go/objstore/internal/faultproxy"
	"github.com/objstore-go/objstore/internal/testenv"
)

// transferBackends are the servers `make test` starts, by the variable
// naming each one's URL: "s3" is MinIO.
var transferBackends = []struct{ name, env string }{
	{"s3", "OBJSTORE_TEST_S3_URL"},
	{"versitygw", "OBJSTORE_TEST_VERSITYGW_URL"},
	{"azure", "OBJSTORE_TEST_AZURE_URL"},
}

func openBackend(t *testing.T, env string) (objstore.Store, string) {
	t.Helper()
	s, err := objstore.Open(context.Background(), testenv.URL(t, env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prefix := fmt.Sprintf("transfer-test/%d/", time.Now().UnixNano())
	return s, prefix
}

func sha256File(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestTransferRoundTrip uploads 20 MiB + 3 bytes in parts and downloads it
// with parallel ranged reads, on each real backend.
func TestTransferRoundTrip(t *testing.T) {
	for _, b := range transferBackends {
		t.Run(b.name, func(t *testing.T) {
			s, prefix := openBackend(t, b.env)
			ctx := context.Background()
			key := prefix + "big.bin"
			t.Cleanup(func() { s.Delete(context.Background(), key) })

			data := randomBytes(20<<20+3, 11)
			src := writeFile(t, data)
			up := &progressLog{t: t}
			a, err := objstore.UploadFile(ctx, s, key, src, &objstore.UploadOptions{
				PutOptions: objstore.PutOptions{ContentType: "application/x-test", PartSize: 5 << 20, Concurrency: 3, IfAbsent: true},
				Progress:   up.fn,
			})
			if err != nil {
				t.Fatal(err)
			}
			up.checkFinal(int64(len(data)))
			if a.Size != int64(len(data)) {
				t.Errorf("UploadFile returned Size %d, want %d", a.Size, len(data))
			}
			if _, err := objstore.UploadFile(ctx, s, key, src, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfAbsent: true, PartSize: 5 << 20}}); !errors.Is(err, objstore.ErrExists) {
				t.Errorf("a second IfAbsent UploadFile = %v, want ErrExists", err)
			}

			dst := filepath.Join(t.TempDir(), "big.bin")
			down := &progressLog{t: t}
			gets := &getLog{Store: s}
			d, err := objstore.DownloadFile(ctx, gets, key, dst, &objstore.DownloadOptions{
				ChunkSize: 3 << 20, Threshold: -1, Concurrency: 4, Progress: down.fn,
			})
			if err != nil {
				t.Fatal(err)
			}
			down.checkFinal(int64(len(data)))
			if want := sha256.Sum256(data); sha256File(t, dst) != want {
				t.Errorf("the downloaded file's sha256 differs from the uploaded data's")
			}
			if d.ETag != a.ETag || d.Size != a.Size || d.ContentType != "application/x-test" {
				t.Errorf("DownloadFile returned %+v, want the uploaded object %+v", d, a)
			}
			if len(gets.gets) != 7 || gets.maxOpen > 4 {
				t.Errorf("%d Gets, at most %d open at once; want 7 ranged Gets, at most 4 at once", len(gets.gets), gets.maxOpen)
			}
		})
	}
}

// TestTransferObjectChanges checks on each real backend that the ranged
// reads are pinned: an object overwritten during the download makes
// DownloadFile start over and end with the new version, never a mix.
func TestTransferObjectChanges(t *testing.T) {
	for _, b := range transferBackends {
		t.Run(b.name, func(t *testing.T) {
			s, prefix := openBackend(t, b.env)
			ctx := context.Background()
			key := prefix + "changing.bin"
			t.Cleanup(func() { s.Delete(context.Background(), key) })
			putObject(t, s, key, randomBytes(1<<20, 12))

			w := &overwriter{Store: s, t: t, n: 1}
			dst := filepath.Join(t.TempDir(), "out")
			attrs, err := objstore.DownloadFile(ctx, w, key, dst,
				&objstore.DownloadOptions{ChunkSize: 128 << 10, Threshold: -1, Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, w.last) {
				t.Errorf("the file holds %d bytes that are not the new version's %d", len(got), len(w.last))
			}
			if attrs.Size != int64(len(w.last)) {
				t.Errorf("DownloadFile returned Size %d, want the new version's %d", attrs.Size, len(w.last))
			}
		})
	}
}

// readAtLog wraps a Store; its Put checks that the body can be read in
// parallel (driver.ReaderAtBody), and passes the driver a body that
// counts its Read and ReadAt calls and the bytes ReadAt served. first, if
// set, runs in the first ReadAt, before it reads.
type readAtLog struct {
	objstore.Store
	t     testing.TB
	first func()

	once    sync.Once
	mu      sync.Mutex
	reads   int
	readAts int
	offsets map[int64]int64 // the bytes served from each offset
}

func (l *readAtLog) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	r, size, ok := driver.ReaderAtBody(body)
	if !ok {
		l.t.Errorf("UploadFile's body %T cannot be read with ReadAt", body)
		return l.Store.Put(ctx, key, body, opts)
	}
	return l.Store.Put(ctx, key, &spyBody{l: l, r: r, size: size, body: body}, opts)
}

// spyBody is a Put body with ReadAt and Size, whose reads readAtLog
// counts.
type spyBody struct {
	l    *readAtLog
	r    io.ReaderAt
	size int64
	body io.Reader
}

func (b *spyBody) Size() int64 { return b.size }

func (b *spyBody) Read(p []byte) (int, error) {
	b.l.mu.Lock()
	b.l.reads++
	b.l.mu.Unlock()
	return b.body.Read(p)
}

func (b *spyBody) ReadAt(p []byte, off int64) (int, error) {
	if b.l.first != nil {
		b.l.once.Do(b.l.first)
	}
	n, err := b.r.ReadAt(p, off)
	b.l.mu.Lock()
	b.l.readAts++
	if b.l.offsets == nil {
		b.l.offsets = map[int64]int64{}
	}
	b.l.offsets[off] = max(b.l.offsets[off], int64(n))
	b.l.mu.Unlock()
	return n, err
}

// covered reports whether the ReadAt calls served every byte of [0, size).
func (l *readAtLog) covered(size int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	offs := slices.Sorted(maps.Keys(l.offsets))
	var end int64
	for _, off := range offs {
		if off > end {
			return false
		}
		end = max(end, off+l.offsets[off])
	}
	return end >= size
}

// TestUploadFileReadsParts uploads a file above the multipart threshold on
// each real backend, and checks that the driver read the parts through
// ReadAt, never through Read, and that the object round-trips.
func TestUploadFileReadsParts(t *testing.T) {
	for _, b := range transferBackends {
		t.Run(b.name, func(t *testing.T) {
			base, prefix := openBackend(t, b.env)
			ctx := context.Background()
			key := prefix + "parts.bin"
			t.Cleanup(func() { base.Delete(context.Background(), key) })

			data := randomBytes(17<<20+5, 21)
			src := writeFile(t, data)
			s := &readAtLog{Store: base, t: t}
			prog := &progressLog{t: t}
			a, err := objstore.UploadFile(ctx, s, key, src, &objstore.UploadOptions{
				PutOptions: objstore.PutOptions{PartSize: 5 << 20, Concurrency: 3, IfAbsent: true},
				Progress:   prog.fn,
			})
			if err != nil {
				t.Fatal(err)
			}
			prog.checkFinal(int64(len(data)))
			s.mu.Lock()
			reads, readAts := s.reads, s.readAts
			s.mu.Unlock()
			if reads != 0 || readAts == 0 {
				t.Errorf("the driver called Read %d times and ReadAt %d times; want ReadAt only", reads, readAts)
			}
			if !s.covered(int64(len(data))) {
				t.Errorf("the ReadAt calls did not cover the file's %d bytes", len(data))
			}
			got, st, err := objstore.ReadAll(ctx, base, key)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(got) != sha256.Sum256(data) || a.Size != int64(len(data)) || st.ETag != a.ETag {
				t.Errorf("the object holds %d bytes (ETag %s) that differ from the file's %d (UploadFile returned %+v)", len(got), st.ETag, len(data), a)
			}
		})
	}
}

// TestUploadFileChangedWhileReadInParts changes the file during an upload
// whose parts are read with ReadAt, on each real backend: the upload fails
// saying so, and the previous object stays.
func TestUploadFileChangedWhileReadInParts(t *testing.T) {
	changes := []struct {
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
		{"shrinks", func(path string) error { return os.Truncate(path, 6<<20) }},
	}
	for _, b := range transferBackends {
		for _, ch := range changes {
			t.Run(b.name+"/"+ch.name, func(t *testing.T) {
				base, prefix := openBackend(t, b.env)
				ctx := context.Background()
				key := prefix + "changing.bin"
				t.Cleanup(func() { base.Delete(context.Background(), key) })
				old := putObject(t, base, key, []byte("old"))

				path := writeFile(t, randomBytes(12<<20+1, 22))
				s := &readAtLog{Store: base, t: t, first: func() {
					if err := ch.change(path); err != nil {
						t.Error(err)
					}
				}}
				_, err := objstore.UploadFile(ctx, s, key, path, &objstore.UploadOptions{
					PutOptions: objstore.PutOptions{PartSize: 5 << 20, Concurrency: 3},
				})
				if err == nil || !strings.Contains(err.Error(), "the file changed") {
					t.Fatalf("UploadFile of a file that changed = %v, want an error saying so", err)
				}
				got, st, err := objstore.ReadAll(ctx, base, key)
				if err != nil || string(got) != "old" || st.ETag != old.ETag {
					t.Errorf("after the failed upload the object holds %d bytes (%v), want the previous %q", len(got), err, "old")
				}
			})
		}
	}
}

// TestDownloadFileParallelOnSlowLink checks DownloadFile's measured rule
// where parallel reads pay: through a proxy that passes each response
// body at 2 MiB/s, as a link that limits each connection does (loopback
// never does), two streams are twice one, so the rest of the object is
// read Concurrency ranges at a time. The proxy's records show it: the
// GETs of the object overlap Concurrency deep. Before the rule, a fixed
// threshold decided, whatever the link.
func TestDownloadFileParallelOnSlowLink(t *testing.T) {
	p, proxied := faultproxy.NewFaultsFor(t, testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	s, err := objstore.Open(t.Context(), proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const chunk, chunks, conc = 1 << 20, 8, 4
	key := fmt.Sprintf("transfer-test/%d/slow", time.Now().UnixNano())
	data := bytes.Repeat([]byte("0123456789abcdef"), chunks*chunk/16)
	if _, err := s.Put(t.Context(), key, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Delete(context.Background(), key) })
	p.Forget()
	p.Arm(faultproxy.Fault{Kind: faultproxy.SlowDownload, Rate: 2 << 20, Method: http.MethodGet, PathSuffix: "/" + key, Times: -1})

	path := filepath.Join(t.TempDir(), "slow")
	if _, err := objstore.DownloadFile(t.Context(), s, key, path, &objstore.DownloadOptions{ChunkSize: chunk, Concurrency: conc}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the downloaded file differs from the object (%d bytes, %v)", len(got), err)
	}
	// The deepest overlap of the object's GETs.
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	gets := 0
	for _, r := range p.Matching(faultproxy.Fault{Method: http.MethodGet, PathSuffix: "/" + key}) {
		gets++
		edges = append(edges, edge{r.Start, 1}, edge{r.End, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	depth, deepest := 0, 0
	for _, e := range edges {
		depth += e.delta
		deepest = max(deepest, depth)
	}
	if deepest < conc || gets < chunks {
		t.Errorf("the GETs of the object overlapped %d deep, %d of them; want %d deep (Concurrency) over %d chunks: the rule did not go parallel on a link where it pays", deepest, gets, conc, chunks)
	}
}
