package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// job is one measured (target, client, operation), run in a child process
// of its own so that the process's peak RSS (VmHWM) belongs to it alone.
type job struct {
	Target string `json:"target"`
	Client string `json:"client"`
	Op     string `json:"op"` // small, put, download, get, copy
	Size   int64  `json:"size"`
	N      int    `json:"n,omitempty"` // small: operations of each kind
	Part   int64  `json:"part"`
	Conc   int    `json:"conc"`
	Prefix string `json:"prefix"`
	Src    string `json:"src,omitempty"` // download, copy: the source key
	Dst    string `json:"dst,omitempty"` // put, copy: the key written
	Dir    string `json:"dir,omitempty"` // download: the directory of the file
	// Fsync makes the SDK and gocloud downloads sync the file before
	// closing it, as objstore.DownloadFile does.
	Fsync bool `json:"fsync,omitempty"`
}

// outcome is what a child reports.
type outcome struct {
	Seconds  float64 `json:"seconds"`            // the operation (small: the puts)
	Seconds2 float64 `json:"seconds2,omitempty"` // small: the gets
	// PeakHeap is the most the Go heap held in objects, sampled every
	// 2 ms while the operation ran; BaseHeap is the same just before.
	PeakHeap uint64 `json:"peakHeap"`
	// PeakLive is the most of the heap the last GC found live
	// (/gc/heap/live:bytes), sampled alike: PeakHeap less the garbage
	// not yet collected.
	PeakLive uint64 `json:"peakLive"`
	BaseHeap uint64 `json:"baseHeap"`
	// PeakRSS is VmHWM at the end; RSSReset says whether it was reset
	// (clear_refs) after set-up, so that it covers the operation alone
	// plus the resident set of the idle process (BaseRSS).
	PeakRSS  uint64 `json:"peakRSS"`
	BaseRSS  uint64 `json:"baseRSS"`
	RSSReset bool   `json:"rssReset"`
	Err      string `json:"err,omitempty"`
}

const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	liveMetric = "/gc/heap/live:bytes"
)

// runChild is the child's side: it runs j and prints one JSON outcome.
func runChild(spec string) int {
	var j job
	var out outcome
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		out.Err = "bad job: " + err.Error()
	} else if err := j.run(&out); err != nil {
		out.Err = err.Error()
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	if out.Err != "" {
		return 1
	}
	return 0
}

func (j *job) run(out *outcome) error {
	ctx := context.Background()
	t, err := openTarget(ctx, j.Target, j.Prefix)
	if err != nil {
		return err
	}
	defer t.Close()
	if j.Op == "small" {
		// Warm up connections and the server, untimed.
		if _, _, err := t.smallOps(ctx, j.Client, 20, false); err != nil {
			return err
		}
	}
	var op func() error
	var cleanup func()
	switch j.Op {
	case "small":
		op = func() error {
			p, g, err := t.smallOps(ctx, j.Client, j.N, true)
			out.Seconds2 = g.Seconds()
			out.Seconds = p.Seconds()
			return err
		}
		cleanup = func() { t.store.Delete(ctx, "small-"+j.Client) }
	case "put":
		op = func() error { return t.put(ctx, j.Client, j.Dst, j.Size, j.Part, j.Conc) }
		cleanup = func() { t.store.Delete(ctx, j.Dst) }
	case "download":
		path := filepath.Join(j.Dir, "download-"+j.Client)
		op = func() error { return t.download(ctx, j.Client, j.Src, path, j.Part, j.Conc, j.Fsync) }
		cleanup = func() { os.Remove(path) }
	case "get":
		op = func() error { return t.get(ctx, j.Client, j.Src) }
		cleanup = func() {}
	case "copy":
		op = func() error { return t.copyObject(ctx, j.Client, j.Dst, j.Src) }
		cleanup = func() { t.store.Delete(ctx, j.Dst) }
	default:
		return fmt.Errorf("unknown op %q", j.Op)
	}
	defer cleanup()

	// Start from a clean slate: no dirty pages of an earlier job (or of
	// other work) left for the kernel to write back while this one runs,
	// garbage collected, memory returned to the OS, the peak RSS reset to
	// the current RSS (Linux 4.0+).
	syscall.Sync()
	debug.FreeOSMemory()
	runtime.GC()
	out.RSSReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	out.BaseRSS = procStatus("VmRSS")
	stop, peak, live := sampleHeap()
	start := time.Now()
	err = op()
	if j.Op != "small" {
		out.Seconds = time.Since(start).Seconds()
	}
	out.BaseHeap = stop()
	out.PeakHeap = <-peak
	out.PeakLive = <-live
	out.PeakRSS = procStatus("VmHWM")
	return err
}

// sampleHeap samples the Go heap every 2 ms until stop is called; stop
// returns the first sample of the heap's objects, and peak and live then
// yield the highest of the objects and of the live heap.
func sampleHeap() (stop func() uint64, peak, live <-chan uint64) {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	done := make(chan struct{})
	res, resLive := make(chan uint64, 1), make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: heapMetric}, {Name: liveMetric}}
		var hi, hiLive uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			hi = max(hi, s[0].Value.Uint64())
			hiLive = max(hiLive, s[1].Value.Uint64())
			select {
			case <-done:
				res <- hi
				resLive <- hiLive
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return base }, res, resLive
}

// procStatus reads a field of /proc/self/status, in bytes; 0 if unknown.
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
