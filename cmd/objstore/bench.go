package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/objstore-go/objstore"
)

const benchAbout = `Measures the store at URL from this machine, under a random prefix
(URL's key + "objstore-bench-<random>/") that is deleted afterwards, even
when interrupted:
  put, get, stat  -n sequential operations on -small-byte objects:
                  latency p50, p99 and mean, and operations per second
  put-large, get-large
                  one -large-byte object written and read back whole:
                  throughput in MiB/s
Each get is checked against the bytes put. -json prints an array of
  {"op":"put","count":100,"size":4096,"p50Ms":..,"p99Ms":..,"meanMs":..,
   "opsPerSec":..,"mibPerSec":..}`

// benchResult is one line of bench's report.
type benchResult struct {
	Op        string  `json:"op"`
	Count     int     `json:"count"`
	Size      int64   `json:"size"`
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	MeanMs    float64 `json:"meanMs"`
	OpsPerSec float64 `json:"opsPerSec"`
	MiBPerSec float64 `json:"mibPerSec"`
}

func bench(ctx context.Context, args []string, e *env) int {
	fs := newFlags("bench", "[-n N] [--small SIZE] [--large SIZE] [--json] URL", benchAbout, e)
	n := fs.Int("n", 100, "how many small operations of each kind")
	small, large := sizeValue(4<<10), sizeValue(64<<20)
	fs.Var(&small, "small", "size of the small objects (4096, 4KiB, ...)")
	fs.Var(&large, "large", "size of the large object (64MiB, 1GiB, ...; 0: skip)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	if *n < 1 {
		return fail(e.stderr, "bench", usageErrorf("-n must be at least 1"))
	}
	st, t, done, err := openURL(ctx, fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "bench", err)
	}
	defer done()
	prefix := dirKey(t.key) + "objstore-bench-" + randomHex() + "/"
	results, err := runBench(ctx, st, prefix, *n, int64(small), int64(large))
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if cerr := deletePrefix(cleanCtx, st, prefix, 8); cerr != nil {
		fmt.Fprintf(e.stderr, "objstore bench: cleaning up %s: %v\n", objectURL(t.store, prefix), cerr)
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fail(e.stderr, "bench", err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "OP\tCOUNT\tSIZE\tP50\tP99\tMEAN\tOPS/S\tMiB/S\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%v\t%v\t%.1f\t%.1f\t\n",
			r.Op, r.Count, r.Size, dur(r.P50Ms), dur(r.P99Ms), dur(r.MeanMs), r.OpsPerSec, r.MiBPerSec)
	}
	tw.Flush()
	return exitOK
}

func runBench(ctx context.Context, st objstore.Store, prefix string, n int, small, large int64) ([]benchResult, error) {
	data := make([]byte, max(small, large))
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	key := func(i int) string { return fmt.Sprintf("%ssmall-%06d", prefix, i) }
	var results []benchResult
	measure := func(op string, count int, size int64, f func(i int) error) error {
		lat := make([]time.Duration, 0, count)
		for i := range count {
			start := time.Now()
			if err := f(i); err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
		}
		results = append(results, summarize(op, size, lat))
		return nil
	}
	body := data[:small]
	if err := measure("put", n, small, func(i int) error {
		_, err := st.Put(ctx, key(i), bytes.NewReader(body), nil)
		return err
	}); err != nil {
		return nil, err
	}
	if err := measure("get", n, small, func(i int) error {
		got, _, err := objstore.ReadAll(ctx, st, key(i))
		if err == nil && !bytes.Equal(got, body) {
			err = fmt.Errorf("get %q returned other bytes than were put", key(i))
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := measure("stat", n, small, func(i int) error {
		_, err := st.Stat(ctx, key(i))
		return err
	}); err != nil {
		return nil, err
	}
	if large == 0 {
		return results, nil
	}
	big := prefix + "large"
	if err := measure("put-large", 1, large, func(int) error {
		_, err := st.Put(ctx, big, bytes.NewReader(data[:large]), nil)
		return err
	}); err != nil {
		return nil, err
	}
	if err := measure("get-large", 1, large, func(int) error {
		r, err := st.Get(ctx, big, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(got, data[:large]) {
			err = fmt.Errorf("get %q returned other bytes than were put", big)
		}
		return err
	}); err != nil {
		return nil, err
	}
	return results, nil
}

func summarize(op string, size int64, lat []time.Duration) benchResult {
	var total time.Duration
	for _, d := range lat {
		total += d
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	pct := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(sorted)))) - 1
		return sorted[max(i, 0)]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r := benchResult{Op: op, Count: len(lat), Size: size, P50Ms: ms(pct(0.5)), P99Ms: ms(pct(0.99)),
		MeanMs: ms(total / time.Duration(len(lat)))}
	if total > 0 {
		r.OpsPerSec = float64(len(lat)) / total.Seconds()
		r.MiBPerSec = float64(size) * float64(len(lat)) / (1 << 20) / total.Seconds()
	}
	return r
}

// dur prints milliseconds as a duration rounded to the microsecond.
func dur(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond)
}
