// Command bench measures objstore against the raw SDK helpers and
// gocloud.dev on the S3 and Azure servers the tests use, in one run, and
// prints speed ratios and peak memory as Markdown tables.
//
//	source <(bash scripts/test.sh --env-only)   # or any S3/Azure pair
//	go run ./bench -size 256MiB -big 1GiB -rounds 3
//
// It reads OBJSTORE_TEST_S3_URL (with AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY) and OBJSTORE_TEST_AZURE_URL (with the
// AZSTORE_<NAME>_KEY its credential=NAME names), exactly as the
// integration tests do, and works under a fresh random key prefix that it
// deletes at the end.
//
// Every measured operation runs in a child process of its own (the
// program re-executes itself with -child), which reports its duration,
// its peak Go heap (runtime/metrics' heap objects, sampled every 2 ms) and
// its peak RSS (VmHWM, reset after set-up) as JSON. Each child calls
// sync(2) before it starts the clock, so that no job pays for the
// writeback of an earlier one's file. The clients take turns
// in a fresh random order in every round; figures are medians with
// [min–max] over the rounds.
//
// Targets: s3 (OBJSTORE_TEST_S3_URL, MinIO under scripts/test.sh),
// versitygw (OBJSTORE_TEST_VERSITYGW_URL) and azure.
//
// Two phases:
//   - timing, -rounds times: -n 4 KiB puts then gets per client; a put of
//     -size bytes of unknown length; a download of -size bytes to a file
//     (objstore DownloadFile with and without NoSync, the SDK's ranged
//     downloaders, gocloud's single-stream reader and its parallel
//     Download into an io.WriterAt); a get of -size bytes with one stream
//     into io.Discard (objstore Get, raw GetObject or DownloadStream,
//     gocloud NewReader); a copy of -size bytes (on Azure objstore both
//     with copy=stream and copy=server).
//   - memory, -memrounds times: objstore putting -big bytes of unknown
//     size (S3, Azure), downloading -big bytes to a file (S3, Azure), and
//     copying -big bytes on Azure with copy=stream, each checked against
//     the limits of issue 6: heap ≤ C×P + 16 MiB, RSS ≤ C×P + 48 MiB.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/objstore-go/objstore"
)

type settings struct {
	targets, ops, memClients []string
	size, big, part          int64
	conc, rounds, memRounds  int
	n                        int
	dir                      string
	fsync                    bool
	memOps                   []string
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := settings{size: 256 << 20, big: 1 << 30, part: 8 << 20}
	child := fs.String("child", "", "internal: run one job, given as JSON, and report it as JSON")
	targets := fs.String("targets", "s3,azure", "backends to measure: s3 (MinIO), versitygw, azure")
	ops := fs.String("ops", "small,put,download,copy", "timed work: small, put, download, get, copy")
	memClients := fs.String("memclients", "objstore", "clients measured in the memory phase: objstore, sdk, gocloud")
	fs.Var(sizeFlag{&c.size}, "size", "size of the timed large put, download and copy (0: skip them)")
	fs.Var(sizeFlag{&c.big}, "big", "size of the memory measurements (0: skip the memory phase)")
	fs.Var(sizeFlag{&c.part}, "part", "part size of uploads and chunk size of downloads (P)")
	fs.IntVar(&c.conc, "conc", 4, "concurrency of uploads, downloads and stream copies (C)")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds of the timing phase")
	fs.IntVar(&c.memRounds, "memrounds", 1, "rounds of the memory phase")
	fs.IntVar(&c.n, "n", 200, "4 KiB puts and gets per client and round")
	memOps := fs.String("memops", "put,download,copy", "work of the memory phase: put, download, copy (copy: Azure only)")
	fs.BoolVar(&c.fsync, "fsync", false, "make the SDK and gocloud downloads fsync the file, as objstore.DownloadFile does")
	fs.StringVar(&c.dir, "dir", "", "directory for downloaded files (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *child != "" {
		return runChild(*child)
	}
	var err error
	if c.targets, err = parseList("targets", *targets, []string{"s3", "versitygw", "azure"}); err == nil {
		if c.ops, err = parseList("ops", *ops, []string{"small", "put", "download", "get", "copy"}); err == nil {
			if c.memClients, err = parseList("memclients", *memClients, []string{"objstore", "sdk", "gocloud"}); err == nil {
				c.memOps, err = parseList("memops", *memOps, []string{"put", "download", "copy"})
			}
		}
	}
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.part <= 0 || c.conc < 1 || c.rounds < 1 || c.memRounds < 1 || c.n < 1:
		err = fmt.Errorf("-part, -conc, -rounds, -memrounds and -n must be positive")
	default:
		err = checkEnv(c.targets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.measure(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// key identifies a series of outcomes.
type key struct{ target, op, client string }

type runner struct {
	c       *settings
	prefix  string
	dir     string
	exe     string
	targets map[string]*target
	res     map[key][]outcome
	seq     int
}

func (c *settings) measure(ctx context.Context, w io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r := &runner{c: c, exe: exe, targets: map[string]*target{}, res: map[key][]outcome{}}
	var rnd [6]byte
	rand.Read(rnd[:])
	r.prefix = "objstore-bench-" + hex.EncodeToString(rnd[:]) + "/"
	r.dir = c.dir
	if r.dir == "" {
		if r.dir, err = os.MkdirTemp("", "objstore-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(r.dir)
	}
	for _, name := range c.targets {
		t, err := openTarget(ctx, name, r.prefix)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.targets[name] = t
		defer t.Close()
		defer cleanPrefix(t)
	}
	started := time.Now()
	fmt.Fprintf(w, "# objstore bench, %s\n\n", started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "Command: `go run ./bench %s`  \n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "Go %s, %s/%s, GOMAXPROCS %d, %d CPUs; load average at start: %s  \n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), loadavg())
	fmt.Fprintf(w, "C = %d, P = chunk = %s; timing: %d rounds of %s, large size %s; memory: %d round(s), %s; SDK and gocloud downloads fsync the file: %v\n\n",
		c.conc, formatSize(c.part), c.rounds, strings.Join(c.ops, ","), formatSize(c.size), c.memRounds, formatSize(c.big), c.fsync)

	if err := r.timing(ctx); err != nil {
		return err
	}
	if len(r.res) > 0 {
		r.printTiming(w)
		fmt.Fprintf(w, "Load average after the timing phase: %s\n\n", loadavg())
	}
	if c.big > 0 {
		mem, err := r.memory(ctx)
		if err != nil {
			return err
		}
		r.printMemory(w, mem)
		fmt.Fprintf(w, "Load average after the memory phase: %s\n\n", loadavg())
	}
	fmt.Fprintf(w, "Total time: %s\n", time.Since(started).Round(time.Second))
	return nil
}

// job runs one child and returns its outcome.
func (r *runner) job(ctx context.Context, j job) (outcome, error) {
	spec, _ := json.Marshal(j)
	cmd := exec.CommandContext(ctx, r.exe, "-child", string(spec))
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	runErr := cmd.Run()
	var out outcome
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		return out, fmt.Errorf("%s %s %s: child failed: %v (output %q)", j.Target, j.Op, j.Client, runErr, stdout.String())
	}
	if out.Err != "" {
		return out, fmt.Errorf("%s %s %s: %s", j.Target, j.Op, j.Client, out.Err)
	}
	fmt.Fprintf(os.Stderr, "%-6s %-9s %-16s %8.3fs heap %6.1f MiB rss %6.1f MiB\n",
		j.Target, j.Op, j.Client, out.Seconds+out.Seconds2, mib(out.PeakHeap), mib(out.PeakRSS))
	return out, nil
}

func (r *runner) base(t, op, client string, size int64) job {
	r.seq++
	return job{Target: t, Client: client, Op: op, Size: size, N: r.c.n, Part: r.c.part, Conc: r.c.conc,
		Prefix: r.prefix, Dir: r.dir, Fsync: r.c.fsync, Dst: fmt.Sprintf("dst-%s-%s-%d", op, client, r.seq)}
}

func (r *runner) timing(ctx context.Context) error {
	c := r.c
	var ops []string
	for _, op := range c.ops {
		if op == "small" || c.size > 0 {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	needSrc := slices.Contains(ops, "download") || slices.Contains(ops, "get") || slices.Contains(ops, "copy")
	if needSrc {
		for _, name := range c.targets {
			if err := putSource(ctx, r.targets[name], "src", c.size, c.part, c.conc); err != nil {
				return err
			}
		}
	}
	for round := 1; round <= c.rounds; round++ {
		fmt.Fprintf(os.Stderr, "round %d/%d, load %s\n", round, c.rounds, loadavg())
		for _, name := range c.targets {
			for _, op := range ops {
				clients := clientsFor(name, op)
				mrand.Shuffle(len(clients), func(i, j int) { clients[i], clients[j] = clients[j], clients[i] })
				for _, cl := range clients {
					j := r.base(name, op, cl, c.size)
					j.Src = "src"
					out, err := r.job(ctx, j)
					if err != nil {
						return err
					}
					k := key{name, op, cl}
					r.res[k] = append(r.res[k], out)
				}
			}
		}
	}
	if needSrc {
		for _, name := range c.targets {
			r.targets[name].store.Delete(ctx, "src")
		}
	}
	return nil
}

func putSource(ctx context.Context, t *target, key string, size, part int64, conc int) error {
	_, err := t.store.Put(ctx, key, &unknownReader{n: size}, &objstore.PutOptions{PartSize: part, Concurrency: conc})
	if err != nil {
		return fmt.Errorf("%s: writing the source object: %w", t.name, err)
	}
	return nil
}

// memCase is one memory measurement and its limits.
type memCase struct {
	target, op, client  string
	heapLimit, rssLimit uint64
	outs                []outcome
}

func (r *runner) memory(ctx context.Context) ([]*memCase, error) {
	c := r.c
	cp := uint64(c.conc) * uint64(c.part)
	var cases []*memCase
	for _, name := range c.targets {
		for _, op := range c.memOps {
			if op == "copy" && name != "azure" {
				continue // S3 copies are server side: no body through the client
			}
			for _, cl := range c.memClients {
				if op == "copy" {
					if cl != "objstore" {
						continue
					}
					cl = "objstore-stream"
				}
				cases = append(cases, &memCase{target: name, op: op, client: cl, heapLimit: cp + 16<<20, rssLimit: cp + 48<<20})
			}
		}
	}
	for _, name := range c.targets {
		t := r.targets[name]
		haveSrc := false
		for round := 1; round <= c.memRounds; round++ {
			for _, mc := range cases {
				if mc.target != name {
					continue
				}
				if mc.op != "put" && !haveSrc {
					if err := putSource(ctx, t, "src-big", c.big, c.part, c.conc); err != nil {
						return nil, err
					}
					haveSrc = true
				}
				j := r.base(name, mc.op, mc.client, c.big)
				j.Src = "src-big"
				out, err := r.job(ctx, j)
				if err != nil {
					return nil, err
				}
				mc.outs = append(mc.outs, out)
			}
		}
		if haveSrc {
			t.store.Delete(ctx, "src-big")
		}
	}
	return cases, nil
}

// cleanPrefix deletes whatever is left under the run's prefix.
func cleanPrefix(t *target) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for e, err := range t.store.List(ctx, nil) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: cleaning up: %v\n", t.name, err)
			return
		}
		t.store.Delete(ctx, e.Key)
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// stats returns the median, min and max of xs.
func stats(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}
