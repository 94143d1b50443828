package s3_test

// Benchmarks of the driver against the raw SDK, the SDK's transfer helpers
// and gocloud.dev's s3blob, on the server OBJSTORE_TEST_S3_URL names. They
// skip without it. Each top-level benchmark runs its clients one after
// the other, so -count=N interleaves them:
//
//	go test ./drivers/s3 -run '^$' -bench . -count 6 -benchtime 3x
//
// The large-object benchmarks report peak-heap-MiB (the most heap the Go
// runtime held in objects, sampled every millisecond during the
// operation) and peak-rss-MiB (the process's high-water mark, reset before
// each operation after returning freed memory to the OS).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/objstore-go/objstore"
	_ "github.com/objstore-go/objstore/drivers/s3"
)

const (
	smallSize = 4 << 10
	largeSize = 256 << 20
	partSize  = 8 << 20
	partConc  = 5
)

// benchEnv is what every benchmark works with: the same bucket and key
// prefix through each client, all on one SDK configuration.
type benchEnv struct {
	bucket, prefix string
	store          objstore.Store
	client         *awss3.Client
	gocloud        *blob.Bucket
}

var (
	benchOnce sync.Once
	bench     *benchEnv
	benchErr  error
)

// setup returns the shared benchmark environment, or skips b when
// OBJSTORE_TEST_S3_URL is not set.
func setup(b *testing.B) *benchEnv {
	raw := os.Getenv(urlVar)
	if raw == "" {
		b.Skipf("%s is not set; the benchmarks need an S3 server (make test starts one)", urlVar)
	}
	benchOnce.Do(func() { bench, benchErr = newBenchEnv(raw) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func newBenchEnv(raw string) (*benchEnv, error) {
	ctx := context.Background()
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("objstore-bench-%d/", time.Now().UnixNano())
	store, err := objstore.Open(ctx, withPathPrefix(raw, prefix))
	if err != nil {
		return nil, err
	}
	// The raw client is configured as the driver configures its own.
	q := u.Query()
	var opts []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	pathStyle, _ := strconv.ParseBool(q.Get("use_path_style"))
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if e := q.Get("endpoint"); e != "" {
			o.BaseEndpoint = aws.String(e)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = pathStyle
	})
	gc, err := s3blob.OpenBucket(ctx, client, u.Host, &s3blob.Options{RequestChecksumCalculation: client.Options().RequestChecksumCalculation})
	if err != nil {
		return nil, err
	}
	return &benchEnv{bucket: u.Host, prefix: prefix, store: store, client: client, gocloud: blob.PrefixedBucket(gc, prefix)}, nil
}

func withPathPrefix(raw, prefix string) string {
	u, _ := url.Parse(raw)
	u.Path = "/" + strings.Trim(strings.Trim(u.Path, "/")+"/"+prefix, "/")
	return u.String()
}

func (e *benchEnv) key(k string) *string { return aws.String(e.prefix + k) }

// deleteAfter deletes keys when b ends.
func (e *benchEnv) deleteAfter(b *testing.B, keys ...string) {
	b.Cleanup(func() {
		for _, k := range keys {
			if err := e.store.Delete(context.Background(), k); err != nil {
				b.Error(err)
			}
		}
	})
}

// patternReader serves n bytes cut from a fixed random block, cheaply, and
// hides its size: every client sees a stream of unknown length.
type patternReader struct {
	block []byte
	off   int
	n     int64
}

var block = func() []byte {
	b := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}()

func newPattern(n int64) io.Reader { return &patternReader{block: block, n: n} }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	p.n -= int64(n)
	return n, nil
}

// memPeak samples the heap while an operation runs.
type memPeak struct {
	stop chan struct{}
	done chan uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// startPeak returns memory to the OS, resets the process's peak RSS, and
// starts sampling the heap.
func startPeak() *memPeak {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM; Linux only
	m := &memPeak{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		sample := []metrics.Sample{{Name: heapMetric}}
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-m.stop:
				m.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// end stops sampling and returns the peak heap and the peak RSS, in MiB
// (the RSS is 0 where /proc is missing).
func (m *memPeak) end() (heapMiB, rssMiB float64) {
	close(m.stop)
	heap := <-m.done
	return float64(heap) / (1 << 20), float64(vmHWM()) / (1 << 20)
}

// vmHWM returns the process's peak resident set, in bytes.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// client is one way of doing the operation a benchmark measures.
type client struct {
	name string
	op   func() error
}

// interleave runs every client's op once per iteration, in an order
// shuffled anew each time, so that the server's and the machine's drift,
// and whatever one client leaves behind for the next, fall on all of them
// alike. It reports each client's median time per op (name-ms), its
// throughput at the median for size bytes (name-MB/s), and the first
// client's median time relative to each other's (first-time/name: below 1
// means the first is faster). With mem, it also
// reports each client's worst peak heap and RSS, and the most it
// allocated in one op (name-alloc-MiB: garbage included, which is what
// brings the GC's next cycle, and the heap's peak, closer). The log (-v) has every
// client's min–median–max.
func interleave(b *testing.B, size int64, mem bool, clients ...client) {
	b.Helper()
	n := len(clients)
	durs := make([][]time.Duration, n)
	heap := make([]float64, n)
	rss := make([]float64, n)
	alloc := make([]float64, n)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	shuffle := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		shuffle.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			var m *memPeak
			var before runtime.MemStats
			if mem {
				b.StopTimer()
				runtime.ReadMemStats(&before)
				m = startPeak()
				b.StartTimer()
			}
			start := time.Now()
			err := clients[c].op()
			d := time.Since(start)
			if mem {
				h, r := m.end()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap[c], rss[c] = max(heap[c], h), max(rss[c], r)
				alloc[c] = max(alloc[c], float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
			}
			if err != nil {
				b.Fatalf("%s: %v", clients[c].name, err)
			}
			durs[c] = append(durs[c], d)
		}
	}
	med := make([]time.Duration, n)
	for c := range n {
		slices.Sort(durs[c])
		med[c] = durs[c][len(durs[c])/2]
	}
	for c, cl := range clients {
		b.ReportMetric(float64(med[c])/1e6, cl.name+"-ms")
		b.ReportMetric(float64(size)/med[c].Seconds()/1e6, cl.name+"-MB/s")
		if c > 0 {
			b.ReportMetric(float64(med[0])/float64(med[c]), clients[0].name+"-time/"+cl.name)
		}
		if mem {
			b.ReportMetric(heap[c], cl.name+"-peak-heap-MiB")
			b.ReportMetric(rss[c], cl.name+"-peak-rss-MiB")
			b.ReportMetric(alloc[c], cl.name+"-alloc-MiB")
		}
		d := durs[c]
		b.Logf("%-16s %d ops: min %v, median %v, max %v", cl.name, len(d), d[0], med[c], d[len(d)-1])
	}
}

// BenchmarkSmall puts and gets a 4 KiB object through each client.
func BenchmarkSmall(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), smallSize)
	e.deleteAfter(b, "small-objstore", "small-sdk", "small-gocloud")
	b.Run("put", func(b *testing.B) {
		interleave(b, smallSize, false,
			client{"objstore", func() error {
				_, err := e.store.Put(ctx, "small-objstore", bytes.NewReader(data), nil)
				return err
			}},
			client{"sdk", func() error {
				_, err := e.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &e.bucket, Key: e.key("small-sdk"), Body: bytes.NewReader(data),
					ContentType: aws.String("application/octet-stream")})
				return err
			}},
			client{"gocloud", func() error { return e.gocloud.WriteAll(ctx, "small-gocloud", data, nil) }},
		)
	})
	b.Run("get", func(b *testing.B) {
		interleave(b, smallSize, false,
			client{"objstore", func() error {
				r, err := e.store.Get(ctx, "small-objstore", nil)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, r)
				r.Close()
				return err
			}},
			client{"sdk", func() error {
				out, err := e.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &e.bucket, Key: e.key("small-sdk")})
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, out.Body)
				out.Body.Close()
				return err
			}},
			client{"gocloud", func() error {
				r, err := e.gocloud.NewReader(ctx, "small-gocloud", nil)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, r)
				r.Close()
				return err
			}},
		)
	})
}

// BenchmarkLargePut puts 256 MiB of unknown size in 8 MiB parts, 5 at
// once, through each client.
func BenchmarkLargePut(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	// The deprecated feature/s3/manager, pinned in go.mod, and its
	// successor feature/s3/transfermanager, which gocloud.dev requires;
	// both with the client's checksum setting, as the driver's own
	// uploader has.
	up := manager.NewUploader(e.client, func(u *manager.Uploader) {
		u.PartSize = partSize
		u.Concurrency = partConc
		u.RequestChecksumCalculation = e.client.Options().RequestChecksumCalculation
	})
	tm := transfermanager.New(e.client, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.Concurrency = partConc
		o.RequestChecksumCalculation = e.client.Options().RequestChecksumCalculation
	})
	e.deleteAfter(b, "large-objstore", "large-manager", "large-transfermanager", "large-gocloud")
	interleave(b, largeSize, true,
		client{"objstore", func() error {
			_, err := e.store.Put(ctx, "large-objstore", newPattern(largeSize), &objstore.PutOptions{PartSize: partSize, Concurrency: partConc})
			return err
		}},
		client{"manager", func() error {
			_, err := up.Upload(ctx, &awss3.PutObjectInput{Bucket: &e.bucket, Key: e.key("large-manager"), Body: newPattern(largeSize)})
			return err
		}},
		client{"transfermanager", func() error {
			_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: &e.bucket, Key: e.key("large-transfermanager"), Body: newPattern(largeSize)})
			return err
		}},
		client{"gocloud", func() error {
			w, err := e.gocloud.NewWriter(ctx, "large-gocloud", &blob.WriterOptions{BufferSize: partSize, MaxConcurrency: partConc})
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, newPattern(largeSize)); err != nil {
				w.Close()
				return err
			}
			return w.Close()
		}},
	)
}

// largeObject puts the 256 MiB object the get and copy benchmarks read,
// to be deleted when b ends.
func (e *benchEnv) largeObject(b *testing.B) string {
	const key = "large-src"
	e.deleteAfter(b, key)
	if _, err := e.store.Put(context.Background(), key, newPattern(largeSize), &objstore.PutOptions{PartSize: partSize, Concurrency: partConc}); err != nil {
		b.Fatal(err)
	}
	return key
}

// readAll reads r to the end and closes it.
func readAll(r io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err == nil && n != largeSize {
		err = fmt.Errorf("read %d bytes, want %d", n, largeSize)
	}
	return err
}

// discardAt is an io.WriterAt that counts what it is given.
type discardAt struct{ n atomic.Int64 }

func (d *discardAt) WriteAt(p []byte, _ int64) (int, error) {
	d.n.Add(int64(len(p)))
	return len(p), nil
}

// BenchmarkLargeGet reads a 256 MiB object to the end through each client.
func BenchmarkLargeGet(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	key := e.largeObject(b)
	// The transfer manager's streaming GetObject (v0.4.3) deadlocks here
	// (concurrentReader.Read waits on a part that waits on a full
	// channel), so it is measured with DownloadObject, its parallel ranged
	// download into an io.WriterAt, which discards the bytes.
	tm := transfermanager.New(e.client, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.Concurrency = partConc
		o.DisableChecksumValidation = true // as the driver, "when required"
	})
	interleave(b, largeSize, true,
		client{"objstore", func() error { return readAll(e.store.Get(ctx, key, nil)) }},
		client{"sdk", func() error {
			out, err := e.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &e.bucket, Key: e.key(key)})
			if err != nil {
				return err
			}
			return readAll(out.Body, nil)
		}},
		client{"transfermanager", func() error {
			var w discardAt
			_, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: &e.bucket, Key: e.key(key), WriterAt: &w})
			if err == nil && w.n.Load() != largeSize {
				err = fmt.Errorf("downloaded %d bytes, want %d", w.n.Load(), largeSize)
			}
			return err
		}},
		client{"gocloud", func() error { return readAll(e.gocloud.NewReader(ctx, key, nil)) }},
		// What a portable parallel download over Get with ranges gives:
		// 8 MiB ranges, 5 at once, as the transfer manager does.
		client{"objstore-ranges", func() error { return getRanges(ctx, e.store, key, largeSize) }},
	)
}

// getRanges reads size bytes of key with ranged Gets of partSize bytes,
// partConc at once, and discards them.
func getRanges(ctx context.Context, s objstore.Store, key string, size int64) error {
	offsets := make(chan int64)
	errs := make(chan error, partConc)
	var wg sync.WaitGroup
	for range partConc {
		wg.Go(func() {
			for off := range offsets {
				r, err := s.Get(ctx, key, &objstore.GetOptions{Range: &objstore.Range{Offset: off, Length: partSize}})
				if err == nil {
					_, err = io.Copy(io.Discard, r)
					r.Close()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for off := int64(0); off < size; off += partSize {
		offsets <- off
	}
	close(offsets)
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkLargeCopy copies a 256 MiB object on the server through each
// client.
func BenchmarkLargeCopy(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	key := e.largeObject(b)
	e.deleteAfter(b, "copy-objstore", "copy-sdk", "copy-gocloud")
	interleave(b, largeSize, false,
		client{"objstore", func() error { _, err := e.store.Copy(ctx, "copy-objstore", key, nil); return err }},
		client{"sdk", func() error {
			_, err := e.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: &e.bucket, Key: e.key("copy-sdk"),
				CopySource: aws.String(e.bucket + "/" + e.prefix + key)})
			return err
		}},
		client{"gocloud", func() error { return e.gocloud.Copy(ctx, "copy-gocloud", key, nil) }},
	)
}
