package azure_test

// Benchmarks of the driver against the raw azblob SDK and gocloud.dev's
// azureblob, on the server in OBJSTORE_TEST_AZURE_URL (Azurite under `make
// test`). Each reports, besides time and throughput, the memory one
// operation used, measured on an untimed call: peak-heap-MiB (Go heap)
// and peak-rss-MiB (resident set, which includes memory the SDK maps
// outside the heap).
//
//	go test ./drivers/azure -run '^$' -bench . -benchtime 20x -count 5
//
// OBJSTORE_BENCH_LARGE sets the large size (default 256MiB). The large
// benchmarks run one operation per iteration; use -benchtime Nx. With
// -count, the contestants of a benchmark take turns, which spreads the
// drift of a shared machine over all of them; compare medians.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
)

// benchEnv is what every benchmark works with: stores and clients on one
// prefix of the test container.
type benchEnv struct {
	prefix string
	auto   *azure.Store // the default: copy=auto
	stream *azure.Store // copy=stream
	server *azure.Store // copy=server
	raw    *container.Client
	bucket *gcblob.Bucket // gocloud.dev's azureblob
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	be := testBackend(b)
	e := &benchEnv{prefix: randomPrefix(b) + "/"}
	raw := fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s", be.container, e.prefix, be.endpoint, be.account, credName(b, be))
	var err error
	for _, s := range []struct {
		p    **azure.Store
		mode string
	}{{&e.auto, "auto"}, {&e.stream, "stream"}, {&e.server, "server"}} {
		if *s.p, err = azure.Open(context.Background(), raw+"&copy="+s.mode, nil); err != nil {
			b.Fatal(err)
		}
	}
	// The SDK as users get it: its default transport and options.
	e.raw = be.client(b).ServiceClient().NewContainerClient(be.container)
	if e.bucket, err = azureblob.OpenBucket(context.Background(), e.raw, nil); err != nil {
		b.Fatal(err)
	}
	// Warm the server up (Azurite is a JIT-compiled Node.js program), so
	// that whichever contestant runs first is not the one that pays.
	ctx := context.Background()
	warm := e.raw.NewBlockBlobClient(e.prefix + "warm-up")
	for range 300 {
		_, err := warm.Upload(ctx, streaming.NopCloser(bytes.NewReader(patternBlock[:small])), nil)
		must(b, err)
		resp, err := warm.DownloadStream(ctx, nil)
		must(b, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Cleanup(func() {
		cleanup(e.auto)
		e.bucket.Close()
		e.auto.Close()
		e.stream.Close()
		e.server.Close()
	})
	return e
}

func largeSize(b *testing.B) int64 {
	v := os.Getenv("OBJSTORE_BENCH_LARGE")
	if v == "" {
		return 256 << 20
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			v, mult = n, m
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("OBJSTORE_BENCH_LARGE=%q is not a size", os.Getenv("OBJSTORE_BENCH_LARGE"))
	}
	return n * mult
}

// pattern streams n bytes without holding them, and without Len or Seek.
type pattern struct{ n, off int64 }

var patternBlock = bytes.Repeat([]byte("objstore-benchmark-"), 1<<12)

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	n := copy(b, patternBlock[p.off%int64(len(patternBlock)):])
	p.off += int64(n)
	return n, nil
}

// peak samples memory while f runs and returns its peaks above what was
// in use when f started: Go heap objects, and the process's resident set,
// which also counts memory outside the Go heap (azblob's UploadStream
// buffers are mmap'd). Memory is returned to the OS first, and sync.Pools
// emptied, so buffers a driver pools count as used.
func peak(f func()) (heap, rss uint64) {
	debug.FreeOSMemory()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (uint64, uint64) {
		metrics.Read(sample)
		return sample[0].Value.Uint64(), residentBytes()
	}
	baseHeap, baseRSS := read()
	var maxHeap, maxRSS atomic.Uint64
	note := func() {
		h, r := read()
		if h > maxHeap.Load() {
			maxHeap.Store(h)
		}
		if r > maxRSS.Load() {
			maxRSS.Store(r)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			note()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	note()
	return sub(maxHeap.Load(), baseHeap), sub(maxRSS.Load(), baseRSS)
}

func sub(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return 0
}

// residentBytes returns the process's resident set size, or 0 where
// /proc is missing.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// run measures op: its memory once, on a warmed-up, untimed call (the
// sampling and the GCs it needs would distort the times), then its time
// over b.N calls.
func run(b *testing.B, size int64, op func(i int)) {
	b.Helper()
	op(-2)
	heap, rss := peak(func() { op(-1) })
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		op(i)
	}
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
}

// gocloud runs f, a gocloud.dev operation, failing the benchmark on an
// error.
func gocloud(b *testing.B, f func() error) {
	b.Helper()
	if err := f(); err != nil {
		b.Fatal(err)
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

const small = 4 << 10

func BenchmarkPut4KiB(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), small)
	b.Run("objstore", func(b *testing.B) {
		run(b, small, func(int) {
			_, err := e.auto.Put(ctx, "small", bytes.NewReader(data), nil)
			must(b, err)
		})
	})
	b.Run("azblob-Upload", func(b *testing.B) {
		bb := e.raw.NewBlockBlobClient(e.prefix + "small")
		run(b, small, func(int) {
			_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil)
			must(b, err)
		})
	})
	b.Run("gocloud", func(b *testing.B) {
		run(b, small, func(int) {
			gocloud(b, func() error { return e.bucket.WriteAll(ctx, e.prefix+"small", data, nil) })
		})
	})
}

func BenchmarkGet4KiB(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	_, err := e.auto.Put(ctx, "small", bytes.NewReader(bytes.Repeat([]byte("x"), small)), nil)
	must(b, err)
	b.Run("objstore", func(b *testing.B) {
		run(b, small, func(int) {
			_, _, err := objstore.ReadAll(ctx, e.auto, "small")
			must(b, err)
		})
	})
	b.Run("azblob-DownloadStream", func(b *testing.B) {
		bb := e.raw.NewBlockBlobClient(e.prefix + "small")
		run(b, small, func(int) {
			resp, err := bb.DownloadStream(ctx, nil)
			must(b, err)
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			must(b, err)
		})
	})
	b.Run("gocloud", func(b *testing.B) {
		run(b, small, func(int) {
			gocloud(b, func() error { _, err := e.bucket.ReadAll(ctx, e.prefix+"small"); return err })
		})
	})
}

func BenchmarkPutLarge(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	n := largeSize(b)
	b.Run("objstore", func(b *testing.B) {
		run(b, n, func(int) {
			_, err := e.auto.Put(ctx, "large", &pattern{n: n}, nil)
			must(b, err)
		})
	})
	b.Run("azblob-UploadStream", func(b *testing.B) {
		// The same block size and concurrency as the driver's defaults.
		run(b, n, func(int) {
			_, err := e.raw.NewBlockBlobClient(e.prefix+"large").UploadStream(ctx, &pattern{n: n}, &azblob.UploadStreamOptions{
				BlockSize: azure.DefaultBlockSize, Concurrency: azure.DefaultConcurrency})
			must(b, err)
		})
	})
	b.Run("gocloud", func(b *testing.B) {
		run(b, n, func(int) {
			gocloud(b, func() error {
				w, err := e.bucket.NewWriter(ctx, e.prefix+"large", nil)
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, &pattern{n: n}); err != nil {
					w.Close()
					return err
				}
				return w.Close()
			})
		})
	})
	cleanup(e.auto)
}

func BenchmarkGetLarge(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	n := largeSize(b)
	_, err := e.auto.Put(ctx, "large", &pattern{n: n}, nil)
	must(b, err)
	b.Run("objstore", func(b *testing.B) {
		run(b, n, func(int) {
			r, err := e.auto.Get(ctx, "large", nil)
			must(b, err)
			_, err = io.Copy(io.Discard, r)
			r.Close()
			must(b, err)
		})
	})
	b.Run("azblob-DownloadStream", func(b *testing.B) {
		bb := e.raw.NewBlockBlobClient(e.prefix + "large")
		run(b, n, func(int) {
			resp, err := bb.DownloadStream(ctx, nil)
			must(b, err)
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			must(b, err)
		})
	})
	b.Run("azblob-DownloadFile", func(b *testing.B) {
		bb := e.raw.NewBlockBlobClient(e.prefix + "large")
		f, err := os.CreateTemp(b.TempDir(), "large")
		must(b, err)
		defer f.Close()
		run(b, n, func(int) {
			_, err := bb.DownloadFile(ctx, f, &blob.DownloadFileOptions{})
			must(b, err)
		})
	})
	b.Run("gocloud", func(b *testing.B) {
		run(b, n, func(int) {
			gocloud(b, func() error {
				r, err := e.bucket.NewReader(ctx, e.prefix+"large", nil)
				if err != nil {
					return err
				}
				defer r.Close()
				_, err = io.Copy(io.Discard, r)
				return err
			})
		})
	})
	cleanup(e.auto)
}

func BenchmarkCopyLarge(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	n := largeSize(b)
	_, err := e.auto.Put(ctx, "src", &pattern{n: n}, &objstore.PutOptions{ContentType: "application/x-bench"})
	must(b, err)
	b.Run("objstore-stream", func(b *testing.B) {
		run(b, n, func(int) {
			_, err := e.stream.Copy(ctx, "dst", "src", nil)
			must(b, err)
		})
	})
	b.Run("objstore-server", func(b *testing.B) {
		run(b, n, func(int) {
			_, err := e.server.Copy(ctx, "dst", "src", nil)
			must(b, err)
		})
	})
	b.Run("azblob-StartCopyFromURL", func(b *testing.B) {
		src := e.raw.NewBlockBlobClient(e.prefix + "src").URL()
		dst := e.raw.NewBlockBlobClient(e.prefix + "dst")
		run(b, n, func(int) {
			resp, err := dst.StartCopyFromURL(ctx, src, nil)
			must(b, err)
			if *resp.CopyStatus != blob.CopyStatusTypeSuccess {
				b.Fatalf("copy status %s", *resp.CopyStatus)
			}
		})
	})
	b.Run("gocloud", func(b *testing.B) {
		run(b, n, func(int) {
			gocloud(b, func() error { return e.bucket.Copy(ctx, e.prefix+"dst", e.prefix+"src", nil) })
		})
	})
	cleanup(e.auto)
}

// BenchmarkOverhead4KiB measures what the driver costs on top of the SDK
// on the client alone: the same 4 KiB Put and Get through objstore and
// through the raw SDK, against a local HTTP server that answers at once.
// The shared 2-CPU machine and Azurite make the real round trips too noisy
// to see a few microseconds; here nothing else varies. It needs no
// backend.
func BenchmarkOverhead4KiB(b *testing.B) {
	body := bytes.Repeat([]byte("x"), small)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"0x8DD0000000000001"`)
		w.Header().Set("Last-Modified", "Sat, 21 Nov 2026 06:42:00 GMT")
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(small))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	defer srv.Close()
	const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==" // Azurite's public key
	b.Setenv("AZSTORE_OVERHEAD_KEY", key)
	s, err := azure.Open(context.Background(), "azblob://box/p?account=devstoreaccount1&credential=overhead&endpoint="+srv.URL+"/devstoreaccount1", nil)
	must(b, err)
	defer s.Close()
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", key)
	must(b, err)
	raw, err := azblob.NewClientWithSharedKeyCredential(srv.URL+"/devstoreaccount1", cred, nil)
	must(b, err)
	bb := raw.ServiceClient().NewContainerClient("box").NewBlockBlobClient("p/small")
	ctx := context.Background()
	b.Run("put/objstore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := s.Put(ctx, "small", bytes.NewReader(body), nil)
			must(b, err)
		}
	})
	b.Run("put/azblob-Upload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(body)), nil)
			must(b, err)
		}
	})
	b.Run("get/objstore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, err := objstore.ReadAll(ctx, s, "small")
			must(b, err)
		}
	})
	b.Run("get/azblob-DownloadStream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := bb.DownloadStream(ctx, nil)
			must(b, err)
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			must(b, err)
		}
	})
}
