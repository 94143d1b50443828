package main

import (
	"fmt"
	"io"
)

func (r *runner) series(k key, f func(outcome) float64) []float64 {
	var xs []float64
	for _, o := range r.res[k] {
		xs = append(xs, f(o))
	}
	return xs
}

func cell(xs []float64, format func(float64) string) string {
	if len(xs) == 0 {
		return "—"
	}
	m, lo, hi := stats(xs)
	if len(xs) == 1 {
		return format(m)
	}
	return fmt.Sprintf("%s [%s–%s]", format(m), format(lo), format(hi))
}

func ratio(base, obj []float64) string {
	if len(base) == 0 || len(obj) == 0 {
		return "—"
	}
	b, _, _ := stats(base)
	o, _, _ := stats(obj)
	return fmt.Sprintf("**%.2f×**", b/o)
}

func (r *runner) printTiming(w io.Writer) {
	n := float64(r.c.n)
	fmt.Fprintln(w, "## Speed")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Time per operation: medians [min–max] over the rounds. The speed ratio is the other client's median time over objstore's: ≥ 1.00× means objstore is as fast or faster.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | work | objstore | objstore time | SDK | SDK time | gocloud time | speed vs SDK | speed vs gocloud |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	ms := func(s float64) string { return fmt.Sprintf("%.3g ms", s*1e3) }
	secs := func(s float64) string { return fmt.Sprintf("%.3g s", s) }
	for _, t := range r.c.targets {
		for _, op := range r.c.ops {
			if op == "download" || op == "get" {
				continue // printContenders
			}
			type row struct {
				work   string
				f      func(outcome) float64
				format func(float64) string
			}
			var rows []row
			switch op {
			case "small":
				rows = []row{
					{"4 KiB put", func(o outcome) float64 { return o.Seconds / n }, ms},
					{"4 KiB get", func(o outcome) float64 { return o.Seconds2 / n }, ms},
				}
			default:
				rows = []row{{fmt.Sprintf("%s %s", formatSize(r.c.size), map[string]string{
					"put": "put, unknown size", "download": "download to a file", "copy": "copy"}[op]),
					func(o outcome) float64 { return o.Seconds }, secs}}
			}
			for _, rw := range rows {
				sdk := r.series(key{t, op, "sdk"}, rw.f)
				gc := r.series(key{t, op, "gocloud"}, rw.f)
				for _, cl := range clientsFor(t, op) {
					if cl == "sdk" || cl == "gocloud" {
						continue
					}
					obj := r.series(key{t, op, cl}, rw.f)
					if len(obj) == 0 {
						continue
					}
					fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, rw.work, cl, cell(obj, rw.format),
						sdkName(t, op), cell(sdk, rw.format), cell(gc, rw.format), ratio(sdk, obj), ratio(gc, obj))
				}
			}
		}
	}
	fmt.Fprintln(w)
	r.printContenders(w)
	for _, t := range r.c.targets {
		if len(r.res[key{t, "small", "objstore"}]) == 0 {
			continue
		}
		fmt.Fprintf(w, "Small operations per second, %s (median): ", t)
		for _, cl := range clientsFor(t, "small") {
			p := r.series(key{t, "small", cl}, func(o outcome) float64 { return o.Seconds / n })
			g := r.series(key{t, "small", cl}, func(o outcome) float64 { return o.Seconds2 / n })
			if len(p) == 0 {
				continue
			}
			pm, _, _ := stats(p)
			gm, _, _ := stats(g)
			fmt.Fprintf(w, "%s put %.0f/s get %.0f/s; ", cl, 1/pm, 1/gm)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}
	if r.c.size == 0 || (len(r.c.ops) == 1 && r.c.ops[0] == "small") {
		return
	}
	fmt.Fprintln(w, "Peak memory of each client in the timed runs (medians [min–max]; heap = Go heap objects, RSS = VmHWM of the child process, which idles at the base RSS shown):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | work | client | peak heap MiB | peak RSS MiB | base RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	f1 := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	for _, t := range r.c.targets {
		for _, op := range r.c.ops {
			if op == "small" {
				continue
			}
			for _, cl := range clientsFor(t, op) {
				k := key{t, op, cl}
				if len(r.res[k]) == 0 {
					continue
				}
				name := cl
				if cl == "sdk" {
					name = "SDK " + sdkName(t, op)
				}
				fmt.Fprintf(w, "| %s | %s %s | %s | %s | %s | %s |\n", t, formatSize(r.c.size), op, name,
					cell(r.series(k, func(o outcome) float64 { return mib(o.PeakHeap) }), f1),
					cell(r.series(k, func(o outcome) float64 { return mib(o.PeakRSS) }), f1),
					cell(r.series(k, func(o outcome) float64 { return mib(o.BaseRSS) }), f1))
			}
		}
	}
	fmt.Fprintln(w)
}

// printContenders prints the downloads and gets, one row per client, with
// objstore's speed against each: the client's median time over
// objstore's (DownloadFile, then DownloadFile with NoSync for downloads).
func (r *runner) printContenders(w io.Writer) {
	var ops []string
	for _, op := range r.c.ops {
		if op == "download" || op == "get" {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 || r.c.size == 0 {
		return
	}
	fmt.Fprintf(w, "Downloads to a file and gets (one stream, io.Copy into io.Discard) of %s. Ratio = the client's median time ÷ objstore's: ≥ 1.00× means objstore is as fast or faster. SDK and gocloud downloads fsync the file: %v.\n\n", formatSize(r.c.size), r.c.fsync)
	fmt.Fprintln(w, "| target | work | client | time | MB/s | objstore vs it | objstore-nosync vs it |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	secs := func(s float64) string { return fmt.Sprintf("%.3g s", s) }
	sec := func(o outcome) float64 { return o.Seconds }
	for _, t := range r.c.targets {
		for _, op := range ops {
			clients := clientsFor(t, op)
			obj := r.series(key{t, op, "objstore"}, sec)
			nosync := r.series(key{t, op, "objstore-nosync"}, sec)
			for _, cl := range clients {
				xs := r.series(key{t, op, cl}, sec)
				if len(xs) == 0 {
					continue
				}
				med, _, _ := stats(xs)
				fmt.Fprintf(w, "| %s | %s %s | %s | %s | %.0f | %s | %s |\n", t, formatSize(r.c.size), op, clientName(t, op, cl),
					cell(xs, secs), float64(r.c.size)/med/1e6, ratio(xs, obj), ratio(xs, nosync))
			}
		}
	}
	fmt.Fprintln(w)
}

// clientName says what a client of the contenders' table runs.
func clientName(t, op, cl string) string {
	switch cl {
	case "sdk":
		return "SDK " + sdkName(t, op)
	case "sdk-tm":
		return "SDK transfermanager DownloadObject"
	case "gocloud":
		return "gocloud NewReader + io.Copy"
	case "gocloud-par":
		return "gocloud Download, AllowParallelDownload"
	case "objstore":
		if op == "get" {
			return "objstore Get + io.Copy"
		}
		return "objstore DownloadFile"
	case "objstore-nosync":
		return "objstore DownloadFile, NoSync"
	}
	return cl
}

func (r *runner) printMemory(w io.Writer, cases []*memCase) {
	fmt.Fprintln(w, "## Bounded memory (issue 6, item 5)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s per case, C = %d, P = chunk = %s; the worst of %d round(s). Limits: heap ≤ C×P + 16 MiB, RSS ≤ C×P + 48 MiB; the heap verdict is on the heap's objects (garbage not yet collected included), the live heap is what the last GC kept. RSS is the child process's whole VmHWM, idle base included.\n\n",
		formatSize(r.c.big), r.c.conc, formatSize(r.c.part), r.c.memRounds)
	fmt.Fprintln(w, "| target | work | client | time | MiB/s | peak heap MiB | peak live heap MiB | heap limit | heap | peak RSS MiB | base RSS MiB | RSS limit | RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, mc := range cases {
		var heap, live, rss, base uint64
		var secs []float64
		for _, o := range mc.outs {
			heap, live, rss, base = max(heap, o.PeakHeap), max(live, o.PeakLive), max(rss, o.PeakRSS), max(base, o.BaseRSS)
			secs = append(secs, o.Seconds)
		}
		med, lo, hi := stats(secs)
		span := fmt.Sprintf("%.1f s", med)
		if len(secs) > 1 {
			span = fmt.Sprintf("%.1f s [%.1f–%.1f]", med, lo, hi)
		}
		work := map[string]string{"put": "put, unknown size", "download": "download to a file", "copy": "copy, stream-through"}[mc.op]
		fmt.Fprintf(w, "| %s | %s %s | %s | %s | %.0f | %.1f | %.1f | %.0f | %s | %.1f | %.1f | %.0f | %s |\n",
			mc.target, formatSize(r.c.big), work, mc.client, span, mib(uint64(r.c.big))/med,
			mib(heap), mib(live), mib(mc.heapLimit), pass(heap <= mc.heapLimit), mib(rss), mib(base), mib(mc.rssLimit), pass(rss <= mc.rssLimit))
	}
	fmt.Fprintln(w)
}

func pass(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**FAIL**"
}
