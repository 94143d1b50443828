package faultproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Matrix is the fault matrix (issue 5, point 8): every fault of [Faults],
// injected into Stat, List, Get and Put (single-request and multipart)
// through a proxy in front of the real server, with small retry delays.
// It proves that
//
//   - a transient fault heals within the retry budget, and the operation
//     succeeds with the right content;
//   - a fault that persists is tried exactly MaxRetries+1 times, and the
//     error is classified and says how many attempts were made; on pooled
//     connections net/http may replay a GET or HEAD once per dead idle
//     connection within one attempt (see reset-pooled);
//   - a 400 is tried once, unless it asks for a retry delay;
//   - every attempt of a request carries the same request ID;
//   - Retry-After and x-ms-retry-after-ms are honoured, up to MaxDelay;
//   - a cancel during a stall or a retry wait returns within 100 ms,
//     besides the abort that a failed multipart put owes the server and
//     the time the kernel kept the process's threads waiting for a CPU
//     (see runDelays), and each request in flight reads the body at most
//     once more after it;
//   - a failed Put never leaves a partial object: the key stays missing,
//     or keeps its old content;
//   - a Get, the resumptions of its body included, makes at most
//     MaxRetries+1 HTTP attempts, and so does a streamed copy's download
//     (rule R1 of docs/SEMANTICS.md: the R1 subtests, see Cases).
//
// Each subtest starts its own proxy and opens its own store through it,
// so that it sees its requests only, on connections of its own. The
// operations of one fault run in parallel; the cancel cases, which
// measure the library's latency, run one at a time.
type Matrix struct {
	Driver      string // the scheme errors name
	Endpoint    string // the real server's endpoint, which the proxies forward to
	RewriteHost bool   // see NewFaults

	// Direct is the store under test, opened directly on the server at
	// the prefix the matrix works under; the matrix writes and checks
	// objects through it.
	Direct objstore.Store
	// Open opens the store under test at Direct's prefix, with its
	// endpoint replaced by proxyURL (plus the endpoint's path), and with
	// co as its ClientOptions. It closes the store when t ends.
	Open func(t *testing.T, proxyURL string, co *objstore.ClientOptions) objstore.Store

	// RequestID is the request header that carries the client's request
	// ID: Amz-Sdk-Invocation-Id, X-Ms-Client-Request-Id.
	RequestID string
	// ListQuery marks a List request ("list-type", "comp=list");
	// PartQuery a part upload ("partNumber", "comp=block"); CommitMethod
	// and CommitQuery the request that commits a multipart upload (POST
	// "uploadId", PUT "comp=blocklist").
	ListQuery, PartQuery      string
	CommitMethod, CommitQuery string
	// PartSize is the part size of the multipart puts: the smallest the
	// service takes, to keep them fast. The multipart bodies are a part
	// and an eighth long: two parts, sent at once.
	PartSize int64
	// PendingUploads, if set, returns how many multipart uploads of key
	// are left in progress on the server.
	PendingUploads func(t *testing.T, key string) int
	// OpenStreamCopy, if set, opens the store like Open, but copying by
	// streaming the source through the client (Azure's copy=stream); the
	// R1 cases then check the copy's download too.
	OpenStreamCopy func(t *testing.T, proxyURL string, co *objstore.ClientOptions) objstore.Store
	// CopyCommits says that a Copy of a source of a part and an eighth is
	// a multipart upload, committed as a put's is (S3's UploadPartCopy
	// parts, with Open's copy threshold and part size lowered to
	// PartSize), so that the commit cases run on copies too.
	CopyCommits bool
	// CopyIsPut says that a Copy is one PUT on the destination (Azure's
	// Copy Blob), so that the single-request cases run on copies too.
	CopyIsPut bool
}

// The matrix's retry policy: MaxRetries retries, so that a fault that
// persists is tried attempts times.
const (
	maxRetries   = 2
	attempts     = maxRetries + 1
	retryDelay   = 10 * time.Millisecond
	maxDelay     = 50 * time.Millisecond
	stallTimeout = 2 * time.Second        // the read timeout of the stall cases; see stall in Run
	cancelBound  = 100 * time.Millisecond // from cancel() to the operation's return, less the abort and CPU waits
)

// options are the ClientOptions of every store the matrix opens.
func options() *objstore.ClientOptions {
	return &objstore.ClientOptions{
		IgnoreEnvironment: true,
		Retry:             objstore.RetryOptions{MaxRetries: maxRetries, Delay: retryDelay, MaxDelay: maxDelay},
		// Long enough for a part upload under the race detector; the
		// stall cases lower it.
		ReadTimeout: 10 * time.Second,
	}
}

// operation is one Store call the matrix injects faults into.
type operation struct {
	name   string
	target Fault // Method and Query of the requests faulted
	onKey  bool  // the requests faulted are those of the key's path
	size   int64 // the object's or the body's size
	exists bool  // the key holds an object of size bytes before the call
	put    bool  // the call writes the key
	old    bool  // the key holds other content before the call (IfMatch)
	parts  bool  // the target is the parts of a multipart upload: many requests
	// run makes the call on s, checks a successful result, and returns
	// the call's error.
	run func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error
}

// ops returns the operations by name.
func (sc Matrix) ops() map[string]operation {
	part := sc.PartSize
	multipart := part + part/8
	opts := &objstore.PutOptions{PartSize: part, Concurrency: 2}
	put := func(stream bool, o *objstore.PutOptions) func(*testing.T, context.Context, objstore.Store, string, []byte) error {
		return func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
			var body io.Reader = bytes.NewReader(data) // read with ReadAt, in sections
			if w, ok := ctx.Value(bodyWatchKey{}).(*bodyWatch); ok {
				body = &watchedBody{r: bytes.NewReader(data), w: w}
			}
			if stream {
				body = struct{ io.Reader }{body} // read once, in order
			}
			a, err := s.Put(ctx, key, body, o)
			if err == nil {
				if a.Size != int64(len(data)) {
					t.Errorf("Put returned Size %d; want %d", a.Size, len(data))
				}
				sc.checkObject(t, key, data, a.ETag)
			}
			return err
		}
	}
	// putIf is put with IfAbsent, or with IfMatch the ETag the key holds.
	putIf := func(o objstore.PutOptions, ifAbsent, ifMatch bool) func(*testing.T, context.Context, objstore.Store, string, []byte) error {
		return func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
			o := o
			o.IfAbsent = ifAbsent
			if ifMatch {
				a, err := sc.Direct.Stat(ctx, key)
				if err != nil {
					t.Fatalf("Stat of the object to overwrite: %v", err)
				}
				o.IfMatch = a.ETag
			}
			return put(false, &o)(t, ctx, s, key, data)
		}
	}
	// copyTo copies a source holding data, written first, to the key.
	copyTo := func(ifAbsent bool) func(*testing.T, context.Context, objstore.Store, string, []byte) error {
		return func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
			src := key + ".src"
			if _, err := sc.Direct.Put(ctx, src, bytes.NewReader(data), nil); err != nil {
				t.Fatalf("writing the copy's source: %v", err)
			}
			a, err := s.Copy(ctx, key, src, &objstore.CopyOptions{IfAbsent: ifAbsent})
			if err == nil {
				if a.Size != int64(len(data)) {
					t.Errorf("Copy returned Size %d; want %d", a.Size, len(data))
				}
				sc.checkObject(t, key, data, a.ETag)
			}
			return err
		}
	}
	commit := Fault{Method: sc.CommitMethod, Query: sc.CommitQuery}
	ops := []operation{
		{name: "Stat", target: Fault{Method: http.MethodHead}, onKey: true, size: 1000, exists: true,
			run: func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
				a, err := s.Stat(ctx, key)
				if err == nil && a.Size != int64(len(data)) {
					t.Errorf("Stat: Size %d, want %d", a.Size, len(data))
				}
				return err
			}},
		{name: "List", target: Fault{Method: http.MethodGet, Query: sc.ListQuery}, size: 1000, exists: true,
			run: func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
				var got []string
				for e, err := range s.List(ctx, &objstore.ListOptions{Prefix: key}) {
					if err != nil {
						return err
					}
					got = append(got, fmt.Sprintf("%s:%d", e.Key, e.Size))
				}
				if want := fmt.Sprintf("%s:%d", key, len(data)); len(got) != 1 || got[0] != want {
					t.Errorf("List: %q, want [%s]", got, want)
				}
				return nil
			}},
		{name: "Get", target: Fault{Method: http.MethodGet}, onKey: true, size: 256 << 10, exists: true,
			run: func(t *testing.T, ctx context.Context, s objstore.Store, key string, data []byte) error {
				r, err := s.Get(ctx, key, nil)
				if err != nil {
					return err
				}
				defer r.Close()
				got, err := io.ReadAll(r)
				if !bytes.Equal(got, data[:min(len(got), len(data))]) {
					t.Errorf("Get: the %d bytes read are not the object's first %d", len(got), len(got))
				}
				if err == nil && len(got) != len(data) {
					t.Errorf("Get: read %d bytes, want %d", len(got), len(data))
				}
				return err
			}},
		{name: "Put", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true,
			run: put(false, nil)},
		{name: "PutStream", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true,
			run: put(true, nil)},
		{name: "Multipart", target: Fault{Method: http.MethodPut, Query: sc.PartQuery}, onKey: true,
			size: multipart, put: true, parts: true, run: put(false, opts)},
		{name: "MultipartStream", target: Fault{Method: http.MethodPut, Query: sc.PartQuery}, onKey: true,
			size: multipart, put: true, parts: true, run: put(true, opts)},
		{name: "Commit", target: commit, onKey: true,
			size: multipart, put: true, run: put(false, opts)},
		{name: "CommitIfAbsent", target: commit, onKey: true,
			size: multipart, put: true, run: putIf(*opts, true, false)},
		{name: "CommitIfMatch", target: commit, onKey: true,
			size: multipart, put: true, old: true, run: putIf(*opts, false, true)},
		{name: "PutIfAbsent", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true,
			run: putIf(objstore.PutOptions{}, true, false)},
		{name: "PutIfMatch", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true, old: true,
			run: putIf(objstore.PutOptions{}, false, true)},
		{name: "CopyCommit", target: commit, onKey: true, size: multipart, put: true, run: copyTo(false)},
		{name: "CopyCommitIfAbsent", target: commit, onKey: true, size: multipart, put: true, run: copyTo(true)},
		{name: "CopyPut", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true, run: copyTo(false)},
		{name: "CopyPutIfAbsent", target: Fault{Method: http.MethodPut}, onKey: true, size: 100 << 10, put: true, run: copyTo(true)},
	}
	m := map[string]operation{}
	for _, o := range ops {
		m[o.name] = o
	}
	return m
}

// condition is the class of op's condition failing: ErrExists for an
// IfAbsent write, ErrPrecondition for an IfMatch one, nil for none.
func (op operation) condition() error {
	switch {
	case strings.HasSuffix(op.name, "IfAbsent"):
		return objstore.ErrExists
	case strings.HasSuffix(op.name, "IfMatch"):
		return objstore.ErrPrecondition
	}
	return nil
}

// env is one subtest's proxy and store.
type env struct {
	p    *Faults
	s    objstore.Store
	key  string
	data []byte // the object's content (exists) or the body (put)
	old  []byte // the content the key held before a put, if any
	op   operation
}

// target returns op's target fault for the key, with kind's fields.
func (e *env) target(f Fault) Fault {
	f.Method, f.Query = e.op.target.Method, e.op.target.Query
	if e.op.onKey {
		f.PathSuffix = "/" + e.key
	}
	return f
}

// setup starts a proxy and opens a store through it for op, with co
// (options() when nil), and writes the object op needs through Direct.
// With old, a put's key first holds other content.
func (sc Matrix) setup(t *testing.T, op operation, co *objstore.ClientOptions, old bool) *env {
	t.Helper()
	if co == nil {
		co = options()
	}
	e := &env{op: op, key: keyFor(t), data: random(op.size)}
	if op.exists {
		if _, err := sc.Direct.Put(t.Context(), e.key, bytes.NewReader(e.data), nil); err != nil {
			t.Fatalf("writing the object: %v", err)
		}
	}
	if old {
		e.old = random(5000)
		if _, err := sc.Direct.Put(t.Context(), e.key, bytes.NewReader(e.old), nil); err != nil {
			t.Fatalf("writing the old object: %v", err)
		}
	}
	e.p = NewFaults(t, sc.Endpoint, sc.RewriteHost)
	e.s = sc.Open(t, e.p.URL(), co)
	return e
}

// Run runs the matrix as subtests of t.
func (sc Matrix) Run(t *testing.T) {
	ops := sc.ops()
	pick := func(names ...string) []operation {
		out := make([]operation, len(names))
		for i, n := range names {
			out[i] = ops[n]
		}
		return out
	}
	// The requests of a stall case that are not stalled are under the
	// read timeout too, and must answer within it: on a loaded machine
	// Azurite took 140 to 350 ms for a HEAD, a GET or a PUT.
	stall := func(co *objstore.ClientOptions) { co.ReadTimeout = stallTimeout }
	all := []string{"Stat", "List", "Get", "Put", "Multipart", "Commit"}

	// One retry budget per operation (R1): the GETs of an object read,
	// its resumptions included.
	t.Run("R1", sc.runBudget)

	// Tracing: a Put whose request was retried once is one operation span,
	// a child of the caller's, with two attempt spans under it, and each
	// attempt sends the trace's traceparent.
	t.Run("trace", func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		co := options()
		co.TracerProvider = tp
		op := ops["Put"]
		e := sc.setup(t, op, co, false)
		f := e.target(Fault{Kind: Status, Status: 503})
		f.Times = 1
		e.p.Arm(f)
		ctx, caller := tp.Tracer("test").Start(t.Context(), "caller")
		if err := op.run(t, ctx, e.s, e.key, e.data); err != nil {
			t.Fatalf("Put with one 503: %v", err)
		}
		caller.End()
		var put sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "objstore.put" {
				put = s
			}
		}
		if put == nil || put.Parent().SpanID() != caller.SpanContext().SpanID() {
			t.Fatalf("no objstore.put span under the caller's span")
		}
		var attempts int
		for _, s := range rec.Ended() {
			if s.Parent().SpanID() == put.SpanContext().SpanID() {
				attempts++
			}
		}
		if attempts != 2 {
			t.Errorf("%d attempt spans under objstore.put, want 2", attempts)
		}
		reqs := e.p.Matching(f)
		if len(reqs) != 2 {
			t.Fatalf("the proxy saw %d PUTs, want 2", len(reqs))
		}
		for i, r := range reqs {
			if tp := r.Header.Get("Traceparent"); !strings.Contains(tp, put.SpanContext().TraceID().String()) {
				t.Errorf("attempt %d sent traceparent %q, not of the put's trace", i+1, tp)
			}
		}
	})

	// Every request carries a request ID, the same on every attempt and
	// different from the other requests'.
	t.Run("request-id", func(t *testing.T) {
		for _, op := range pick(all...) {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				e := sc.setup(t, op, nil, false)
				f := e.target(Fault{Kind: Status, Status: 503})
				f.Times = 2
				e.p.Arm(f)
				if err := op.run(t, t.Context(), e.s, e.key, e.data); err != nil {
					t.Fatalf("%s with 2 faults: %v", op.name, err)
				}
				ids := map[string]string{} // request ID → request
				for req, group := range byRequest(e.p.Requests()) {
					id := group[0].Header.Get(sc.RequestID)
					if id == "" {
						t.Errorf("%s carries no %s header", req, sc.RequestID)
						continue
					}
					if other, ok := ids[id]; ok {
						t.Errorf("%s and %s carry the same %s %q", other, req, sc.RequestID, id)
					}
					ids[id] = req
				}
				sc.checkAttempts(t, e.p.Matching(f))
			})
		}
	})

	// A fault for times requests, then the server's answer.
	t.Run("heals", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			fault Fault
			times int
			ops   []operation
			co    func(*objstore.ClientOptions)
		}{
			{"503", Fault{Kind: Status, Status: 503}, 2, pick(all...), nil},
			{"500", Fault{Kind: Status, Status: 500}, 2, pick(all...), nil},
			{"429", Fault{Kind: Status, Status: 429}, 1, pick(all...), nil},
			{"reset", Fault{Kind: Reset}, 2, pick(append(all, "PutStream", "MultipartStream")...), nil},
			{"reset-upload", Fault{Kind: ResetUpload}, 2, pick("Put", "PutStream", "Multipart", "MultipartStream", "Commit"), nil},
			{"reset-download", Fault{Kind: ResetDownload}, 1, pick("List", "Get"), nil},
			{"reset-download-twice", Fault{Kind: ResetDownload}, 2, pick("Get"), nil},
			{"stall", Fault{Kind: Stall}, 1, pick("Stat", "Get", "Put", "Multipart"), stall},
			{"stall-download", Fault{Kind: StallDownload}, 1, pick("List", "Get"), stall},
		} {
			// One fault at a time, on every operation at once.
			t.Run(c.name, func(t *testing.T) {
				for _, op := range c.ops {
					t.Run(op.name, func(t *testing.T) {
						t.Parallel()
						co := options()
						if c.co != nil {
							c.co(co)
						}
						e := sc.setup(t, op, co, false)
						f := e.target(c.fault)
						f.Times = c.times
						e.p.Arm(f)
						if err := op.run(t, t.Context(), e.s, e.key, e.data); err != nil {
							t.Fatalf("%s with %d faults (%s): %v; want success within %d attempts", op.name, c.times, c.name, err, attempts)
						}
						seen := e.p.Matching(f)
						faulted := count(seen, func(r Request) bool { return r.Fault != Pass })
						if faulted != c.times {
							t.Errorf("the proxy injected %d faults; want %d", faulted, c.times)
						}
						if !op.parts && len(seen) != c.times+1 {
							t.Errorf("the proxy saw %d requests; want %d, the faulted ones and one that passed", len(seen), c.times+1)
						}
						if op.parts {
							sc.checkParts(t, seen, attempts)
						}
						if op.name == "Get" && (c.fault.Kind == ResetDownload || c.fault.Kind == StallDownload) {
							// The Reader resumed: each resumption is a request
							// of its own.
							sc.checkResumed(t, seen)
						} else {
							sc.checkAttempts(t, seen)
						}
					})
				}
			})
		}
	})

	// A fault on every attempt: the budget is spent.
	t.Run("spent", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			fault Fault
			ops   []operation
			class error // the error's class, if it must have one
			co    func(*objstore.ClientOptions)
		}{
			{"503", Fault{Kind: Status, Status: 503}, pick(all...), objstore.ErrThrottled, nil},
			{"429", Fault{Kind: Status, Status: 429}, pick("Stat", "Get", "Put"), objstore.ErrThrottled, nil},
			{"500", Fault{Kind: Status, Status: 500}, pick("Stat", "List", "Put", "Commit"), nil, nil},
			{"reset", Fault{Kind: Reset}, pick("Stat", "Get", "Put", "Multipart"), nil, nil},
			{"reset-upload", Fault{Kind: ResetUpload}, pick("Put", "PutStream", "Multipart", "MultipartStream", "Commit"), nil, nil},
			{"reset-download", Fault{Kind: ResetDownload}, pick("List", "Get"), nil, nil},
			{"stall", Fault{Kind: Stall}, pick("Stat"), nil, stall},
		} {
			t.Run(c.name, func(t *testing.T) {
				for _, op := range c.ops {
					t.Run(op.name, func(t *testing.T) {
						t.Parallel()
						co := options()
						if c.co != nil {
							c.co(co)
						}
						e := sc.setup(t, op, co, false)
						f := e.target(c.fault)
						f.Times = -1
						e.p.Arm(f)
						err := op.run(t, t.Context(), e.s, e.key, e.data)
						if err == nil {
							t.Fatalf("%s with a fault (%s) on every attempt succeeded", op.name, c.name)
						}
						seen := e.p.Matching(f)
						if op.parts {
							sc.checkParts(t, seen, attempts)
							if most := maxAttempts(seen); most != attempts {
								t.Errorf("the part tried most was tried %d times; want %d", most, attempts)
							}
						} else if len(seen) != attempts {
							t.Errorf("the proxy saw %d requests; want %d (MaxRetries %d + 1)", len(seen), attempts, maxRetries)
						}
						if op.name == "Get" && c.fault.Kind == ResetDownload {
							// The Reader resumed as often as the budget allows;
							// each resumption is a request of its own, and an
							// attempt of the Get.
							sc.checkResumed(t, seen)
						} else {
							sc.checkAttempts(t, seen)
						}
						if want := fmt.Sprintf("(after %d attempts)", attempts); !strings.Contains(err.Error(), want) {
							t.Errorf("the error does not say %q: %v", want, err)
						}
						if c.class != nil && !errors.Is(err, c.class) {
							t.Errorf("errors.Is(err, %v) is false: %v", c.class, err)
						}
						sc.checkError(t, err, e.key)
						if op.put {
							sc.checkUnchanged(t, e)
						}
					})
				}
			})
		}
	})

	// A put that fails, persistently, over a key that holds an object:
	// the old object stays, whole.
	t.Run("keeps-old", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			fault Fault
			ops   []operation
		}{
			{"reset-upload", Fault{Kind: ResetUpload}, pick("Put", "PutStream", "Multipart", "MultipartStream", "Commit")},
			{"503", Fault{Kind: Status, Status: 503}, pick("Put", "Multipart", "Commit")},
		} {
			for _, op := range c.ops {
				t.Run(c.name+"/"+op.name, func(t *testing.T) {
					t.Parallel()
					e := sc.setup(t, op, nil, true)
					f := e.target(c.fault)
					f.Times = -1
					e.p.Arm(f)
					if err := op.run(t, t.Context(), e.s, e.key, e.data); err == nil {
						t.Fatalf("%s with a fault (%s) on every attempt succeeded", op.name, c.name)
					}
					sc.checkUnchanged(t, e)
				})
			}
		}
	})

	// A commit reaches the server, which stores the object, and its answer
	// is lost (rule P10). The pipeline sends it again, and the resend
	// meets the write's own first attempt: S3 answers NoSuchUpload, a
	// conditional commit 412. The write succeeds, with the attributes of
	// the object it made.
	commits := []string{"Commit", "CommitIfAbsent", "CommitIfMatch"} // multipart
	conditional := []string{"CommitIfAbsent", "CommitIfMatch"}
	single := []string{"PutIfAbsent", "PutIfMatch"} // conditional single requests
	if sc.CopyCommits {
		commits = append(commits, "CopyCommit", "CopyCommitIfAbsent")
		conditional = append(conditional, "CopyCommitIfAbsent")
	}
	resent := append([]string{"Put"}, commits...) // an unconditional single request too
	if sc.CopyIsPut {
		resent = append(resent, "CopyPut")
		single = append(single, "CopyPutIfAbsent")
	}
	t.Run("commit-lost", func(t *testing.T) {
		for _, op := range pick(resent...) {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				e, f := sc.armOnce(t, op, Drop, nil)
				if err := op.run(t, t.Context(), e.s, e.key, e.data); err != nil {
					t.Fatalf("%s whose commit was stored and its answer lost: %v; want success", op.name, err)
				}
				seen := e.p.Matching(f)
				if len(seen) != 2 || seen[0].Fault != Drop || seen[0].Dropped/100 != 2 {
					t.Errorf("the proxy saw %+v; want the commit stored (2xx) with its answer dropped, then the resend", seen)
				}
				sc.checkAttempts(t, seen)
				sc.checkNoUploads(t, e.key)
			})
		}
	})

	// The same, with another writer replacing the object between the lost
	// answer and the resend. The write must not report success: its
	// object is gone. A conditional write reports its condition failing
	// (another writer's object holds the key); an unconditional one an
	// error with no class that says the write may have been stored.
	t.Run("commit-lost-replaced", func(t *testing.T) {
		for _, op := range pick(commits...) {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				other := random(5000)
				e, _ := sc.armOnce(t, op, Drop, func(e *env) { sc.replace(t, e.key, other) })
				err := op.run(t, t.Context(), e.s, e.key, e.data)
				if err == nil {
					t.Fatalf("%s reported success, but another writer replaced its object", op.name)
				}
				sc.checkLostError(t, err, e.key, op.condition())
				sc.checkObject(t, e.key, other, "")
				sc.checkNoUploads(t, e.key)
			})
		}
	})

	// A conditional commit whose answer is lost before it reaches the
	// server, while another writer takes the key: the resend's failed
	// condition is real, and is reported as such.
	t.Run("commit-raced", func(t *testing.T) {
		for _, op := range pick(conditional...) {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				other := random(5000)
				e, _ := sc.armOnce(t, op, Reset, func(e *env) { sc.replace(t, e.key, other) })
				err := op.run(t, t.Context(), e.s, e.key, e.data)
				if want := op.condition(); !errors.Is(err, want) {
					t.Errorf("%s after another writer took the key: %v; want %v", op.name, err, want)
				}
				sc.checkError(t, err, e.key)
				sc.checkObject(t, e.key, other, "")
				sc.checkNoUploads(t, e.key)
			})
		}
	})

	// A conditional single-request put whose answer is lost: the resend's
	// condition fails on the object the first attempt stored, and nothing
	// tells it from the same bytes stored by another writer. The put
	// reports an error with no class that says it may have been stored,
	// never the condition failing.
	t.Run("answer-lost-single", func(t *testing.T) {
		for _, op := range pick(single...) {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				e, _ := sc.armOnce(t, op, Drop, nil)
				err := op.run(t, t.Context(), e.s, e.key, e.data)
				if err == nil {
					t.Fatalf("%s succeeded; want an error saying it may have been stored", op.name)
				}
				sc.checkLostError(t, err, e.key, nil)
				sc.checkObject(t, e.key, e.data, "")
			})
		}
	})

	// A connection reset on a pooled connection. net/http replays a GET or
	// HEAD whose reused connection failed before any response byte, on
	// another connection, inside one of the pipeline's attempts: that is
	// how it survives a server closing idle connections, and it cannot be
	// switched off. The budget counts the pipeline's attempts; the wire
	// may see up to one more per idle connection (4 here) in each.
	t.Run("reset-pooled", func(t *testing.T) {
		for _, op := range pick("Stat", "List", "Get") {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				e := sc.setup(t, op, nil, false)
				// Leave idle connections in the store's pool.
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := op.run(t, t.Context(), e.s, e.key, e.data); err != nil {
							t.Errorf("warming the pool: %v", err)
						}
					}()
				}
				wg.Wait()
				e.p.Forget()
				f := e.target(Fault{Kind: Reset})
				f.Times = -1
				e.p.Arm(f)
				err := op.run(t, t.Context(), e.s, e.key, e.data)
				if err == nil {
					t.Fatalf("%s with every connection reset succeeded", op.name)
				}
				if seen := e.p.Matching(f); len(seen) < attempts || len(seen) > attempts*(1+4) {
					t.Errorf("the proxy saw %d requests; want %d (MaxRetries %d + 1) to %d (with net/http's replays on the 4 pooled connections): %v",
						len(seen), attempts, maxRetries, attempts*5, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("(after %d attempts)", attempts)) {
					t.Errorf("the error does not say it made %d attempts: %v", attempts, err)
				}
			})
		}
	})

	// A 400 is the client's fault: sent once, never retried.
	t.Run("once", func(t *testing.T) {
		for _, op := range pick("Stat", "List", "Get", "Put", "Multipart", "Commit") {
			t.Run("400/"+op.name, func(t *testing.T) {
				t.Parallel()
				e := sc.setup(t, op, nil, false)
				f := e.target(Fault{Kind: Status, Status: 400})
				f.Times = -1
				e.p.Arm(f)
				err := op.run(t, t.Context(), e.s, e.key, e.data)
				if err == nil {
					t.Fatalf("%s answered 400 succeeded", op.name)
				}
				seen := e.p.Matching(f)
				if op.parts {
					sc.checkParts(t, seen, 1)
				} else if len(seen) != 1 {
					t.Errorf("the proxy saw %d requests; want 1: a 400 is not retried", len(seen))
				}
				if strings.Contains(err.Error(), "attempts)") {
					t.Errorf("the error of a request sent once counts attempts: %v", err)
				}
				sc.checkError(t, err, e.key)
				if op.put {
					sc.checkUnchanged(t, e)
				}
			})
		}
	})

	// The delay a server asks for, measured between the proxy's own
	// timestamps: from the end of the faulted response to the start of
	// the next attempt.
	t.Run("retry-after", func(t *testing.T) {
		for _, c := range []struct {
			name     string
			op       operation
			fault    Fault
			maxDelay time.Duration
			atLeast  time.Duration // the wait must be at least this long
			below    time.Duration // and, if set, shorter than this
		}{
			{"Retry-After-1s", ops["Stat"], Fault{Kind: Status, Status: 429, RetryAfter: time.Second}, 5 * time.Second, time.Second, 0},
			{"x-ms-retry-after-ms", ops["Put"], Fault{Kind: Status, Status: 503, RetryAfter: 300 * time.Millisecond, RetryAfterHeader: "x-ms-retry-after-ms"},
				5 * time.Second, 300 * time.Millisecond, 0},
			{"retry-after-ms", ops["Get"], Fault{Kind: Status, Status: 503, RetryAfter: 200 * time.Millisecond, RetryAfterHeader: "retry-after-ms"},
				5 * time.Second, 200 * time.Millisecond, 0},
			// MaxDelay caps what the server asks for.
			{"capped", ops["Stat"], Fault{Kind: Status, Status: 429, RetryAfter: time.Second}, maxDelay, 0, time.Second},
			// Any 4xx that carries a retry delay is retried.
			{"400-with-retry-after-ms", ops["Stat"], Fault{Kind: Status, Status: 400, RetryAfter: 20 * time.Millisecond, RetryAfterHeader: "x-ms-retry-after-ms"},
				5 * time.Second, 20 * time.Millisecond, 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel() // the waits are measured between the proxy's timestamps
				co := options()
				co.Retry.MaxDelay = c.maxDelay
				e := sc.setup(t, c.op, co, false)
				f := e.target(c.fault)
				f.Times = 1
				e.p.Arm(f)
				if err := c.op.run(t, t.Context(), e.s, e.key, e.data); err != nil {
					t.Fatalf("%s after one %d asking for %v: %v", c.op.name, c.fault.Status, c.fault.RetryAfter, err)
				}
				seen := e.p.Matching(f)
				if len(seen) != 2 {
					t.Fatalf("the proxy saw %d requests; want 2", len(seen))
				}
				waited := seen[1].Start.Sub(seen[0].End)
				if waited < c.atLeast {
					t.Errorf("the retry came %v after the response that asked for %v", waited, c.fault.RetryAfter)
				}
				if c.below > 0 && waited >= c.below {
					t.Errorf("the retry came %v after the response; MaxDelay %v should cap the %v asked for", waited, c.maxDelay, c.fault.RetryAfter)
				}
				t.Logf("waited %v", waited.Round(time.Millisecond))
				sc.checkAttempts(t, seen)
			})
		}
	})

	// A cancel returns at once: during a stall, and during a retry wait,
	// apart from the abort a multipart put owes the server. These run one
	// at a time, since they measure the library's latency.
	t.Run("cancel", func(t *testing.T) {
		retryWait := Fault{Kind: Status, Status: 503, RetryAfter: 10 * time.Second}
		for _, c := range []struct {
			name  string
			op    operation
			fault Fault
			wait  bool // cancel during the retry wait, not at the fault
		}{
			{"stall/Stat", ops["Stat"], Fault{Kind: Stall}, false},
			{"stall/Put", ops["Put"], Fault{Kind: Stall}, false},
			{"stall/Multipart", ops["Multipart"], Fault{Kind: Stall}, false},
			{"stall-download/Get", ops["Get"], Fault{Kind: StallDownload}, false},
			{"retry-wait/Stat", ops["Stat"], retryWait, true},
			{"retry-wait/List", ops["List"], retryWait, true},
			{"retry-wait/Put", ops["Put"], retryWait, true},
			{"retry-wait/Multipart", ops["Multipart"], retryWait, true},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				type mark struct {
					at      time.Time
					waiting runDelays
				}
				var cancelled atomic.Pointer[mark]
				// A failed multipart put still aborts its upload (S3's
				// AbortMultipartUpload): an operation of its own, on a
				// context the cancel does not end, whose round trip is the
				// server's and the SDK's time. window measures it, to
				// leave it out of the library's latency.
				window := newSpanWindow("objstore.abort")
				body := &bodyWatch{}
				doCancel := func() {
					m := &mark{waiting: readRunDelays()}
					m.at = time.Now()
					window.start(m.at)
					cancelled.Store(m)
					cancel()
					// After cancel(): a read that starts now finds the
					// context done, unless it checked it just before.
					body.cancelled.Store(true)
				}
				co := options()
				co.Retry.MaxDelay = time.Minute
				co.ReadTimeout = time.Minute
				co.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(window))
				var once sync.Once
				if c.wait {
					// The pipeline logs the retry just before it waits;
					// cancel a little into the wait.
					co.Logger = slog.New(&onMessage{msg: "objstore: retrying", f: func() {
						once.Do(func() { time.AfterFunc(20*time.Millisecond, doCancel) })
					}})
					co.LogLevel = slog.LevelDebug
				}
				e := sc.setup(t, c.op, co, false)
				f := e.target(c.fault)
				f.Times = -1
				if !c.wait {
					f.OnFault = func(Request) { once.Do(doCancel) }
				}
				e.p.Arm(f)
				// A broken test must not wait for the 10 s retry delay.
				watchdog := time.AfterFunc(5*time.Second, cancel)
				defer watchdog.Stop()
				err := c.op.run(t, context.WithValue(ctx, bodyWatchKey{}, body), e.s, e.key, e.data)
				returned := time.Now()
				waiting := readRunDelays()
				m := cancelled.Load()
				if m == nil {
					t.Fatalf("the cancel never came (no fault, or no retry logged); %s returned %v", c.op.name, err)
				}
				took := returned.Sub(m.at)
				// The library's latency is the rest, less the time its
				// threads spent waiting for a CPU outside the abort (see
				// runDelays): on a loaded machine that wait is the
				// kernel's, and can alone exceed the bound.
				abort, abortWaiting := window.totals()
				// The kernel adds a thread's wait when the thread next
				// runs, so a wait that began before the cancel can count
				// whole; no more than the time outside the abort can be
				// the kernel's.
				kernel := min(waiting.since(m.waiting).minus(abortWaiting).most(), took-abort)
				own := took - abort - kernel
				t.Logf("returned %v after cancel(): %v in the abort, and %v waiting for a CPU besides; %v the library's",
					took.Round(time.Microsecond), abort.Round(time.Microsecond), kernel.Round(time.Microsecond), own.Round(time.Microsecond))
				if own > cancelBound {
					t.Errorf("%s returned %v after cancel(), %v of it in the abort and %v waiting for a CPU; want at most %v besides",
						c.op.name, took, abort, kernel, cancelBound)
				}
				// Work, not time: once cancelled, a request reads the
				// body at most once more (a read that began just before
				// the cancel), however slow the machine.
				if late, most := body.late.Load(), int64(c.op.requests(len(e.data), sc.PartSize)); late > most {
					t.Errorf("%s read the body %d times after cancel(); want at most %d, one for each request in flight", c.op.name, late, most)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s cancelled: %v; want an error matching context.Canceled", c.op.name, err)
				}
				if c.op.put {
					sc.checkUnchanged(t, e)
				}
			})
		}
	})
}

// checkAttempts checks that the attempts of each request (same method,
// URL and range) carry one request ID. That there is one at all is the
// request-id subtest's to check.
func (sc Matrix) checkAttempts(t *testing.T, seen []Request) {
	t.Helper()
	for req, group := range byRequest(seen) {
		id := group[0].Header.Get(sc.RequestID)
		for i, r := range group[1:] {
			if got := r.Header.Get(sc.RequestID); got != id {
				t.Errorf("%s: attempt %d has %s %q; attempt 1 had %q", req, i+2, sc.RequestID, got, id)
			}
		}
	}
}

// checkParts checks the part uploads of a multipart put: no part is tried
// more than most times, and each one's attempts share a request ID.
func (sc Matrix) checkParts(t *testing.T, seen []Request, most int) {
	t.Helper()
	if len(seen) == 0 {
		t.Errorf("the proxy saw no part upload")
	}
	for req, group := range byRequest(seen) {
		if len(group) > most {
			t.Errorf("%s was tried %d times; want at most %d", req, len(group), most)
		}
	}
	sc.checkAttempts(t, seen)
}

// checkResumed checks the GETs of a Reader that resumed: each one after
// the first is a ranged GET pinned with If-Match, starting where the
// bytes served so far end.
func (sc Matrix) checkResumed(t *testing.T, seen []Request) {
	t.Helper()
	if len(seen) < 2 {
		t.Errorf("the proxy saw %d GETs; want the first and a resumption", len(seen))
		return
	}
	for i, r := range seen[1:] {
		rg := r.Header.Get("X-Ms-Range")
		if rg == "" {
			rg = r.Header.Get("Range")
		}
		if r.Header.Get("If-Match") == "" || !strings.HasPrefix(rg, "bytes=") || strings.HasPrefix(rg, "bytes=0-") {
			t.Errorf("resumption %d asked for range %q with If-Match %q; want a range from where the cut was, pinned to the ETag",
				i+1, rg, r.Header.Get("If-Match"))
		}
	}
}

// checkError checks that err is the driver's *objstore.Error for key.
func (sc Matrix) checkError(t *testing.T, err error, key string) {
	t.Helper()
	var oe *objstore.Error
	if !errors.As(err, &oe) {
		t.Errorf("the error is not an *objstore.Error: %T %v", err, err)
		return
	}
	if oe.Driver != sc.Driver || (oe.Key != "" && oe.Key != key) {
		t.Errorf("the error names driver %q key %q; want %q and %q", oe.Driver, oe.Key, sc.Driver, key)
	}
}

// checkObject checks that key holds data, with etag when it is set.
func (sc Matrix) checkObject(t *testing.T, key string, data []byte, etag string) {
	t.Helper()
	got, a, err := objstore.ReadAll(context.WithoutCancel(t.Context()), sc.Direct, key)
	switch {
	case err != nil:
		t.Errorf("reading %s back: %v", key, err)
	case !bytes.Equal(got, data):
		t.Errorf("%s holds %d bytes that are not the %d written", key, len(got), len(data))
	case etag != "" && a.ETag != etag:
		t.Errorf("%s has ETag %s; Put returned %s", key, a.ETag, etag)
	}
}

// checkUnchanged checks that a failed put left no trace: the key is
// missing or holds its old content, and no multipart upload is left.
func (sc Matrix) checkUnchanged(t *testing.T, e *env) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if e.old != nil {
		sc.checkObject(t, e.key, e.old, "")
	} else if a, err := sc.Direct.Stat(ctx, e.key); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("after the failed put, Stat gives %+v, %v; want ErrNotFound", a, err)
	}
	if sc.PendingUploads != nil {
		if n := sc.PendingUploads(t, e.key); n != 0 {
			t.Errorf("the failed put left %d multipart uploads in progress", n)
		}
	}
}

// armOnce sets op up, with the key's old content when op has one, and
// arms a fault of kind for the next request of op's target. onFault, if
// set, runs as the fault is injected.
func (sc Matrix) armOnce(t *testing.T, op operation, kind Kind, onFault func(e *env)) (*env, Fault) {
	t.Helper()
	e := sc.setup(t, op, nil, op.old)
	f := e.target(Fault{Kind: kind, Times: 1})
	if onFault != nil {
		f.OnFault = func(Request) { onFault(e) }
	}
	e.p.Arm(f)
	return e, f
}

// replace writes data to key directly, as another writer would.
func (sc Matrix) replace(t *testing.T, key string, data []byte) {
	if _, err := sc.Direct.Put(context.WithoutCancel(t.Context()), key, bytes.NewReader(data), nil); err != nil {
		t.Errorf("another writer's put: %v", err)
	}
}

// checkNoUploads checks that no multipart upload of key is left.
func (sc Matrix) checkNoUploads(t *testing.T, key string) {
	t.Helper()
	if sc.PendingUploads != nil {
		if n := sc.PendingUploads(t, key); n != 0 {
			t.Errorf("%d multipart uploads of %s are left in progress", n, key)
		}
	}
}

// checkLostError checks the error of a write whose answer was lost and
// whose object another writer may hold: the class want, a conditional
// write's condition failing, or when want is nil an error with no class
// that says the write may have been stored. Never ErrNotFound.
func (sc Matrix) checkLostError(t *testing.T, err error, key string, want error) {
	t.Helper()
	sc.checkError(t, err, key)
	if errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("the error says the key the write was writing is not found: %v", err)
	}
	switch {
	case want != nil:
		if !errors.Is(err, want) {
			t.Errorf("%v; want %v: another writer's object holds the key", err, want)
		}
	default:
		var oe *objstore.Error
		if errors.As(err, &oe) && oe.Kind != nil {
			t.Errorf("the error has class %v; want none, as the write may have been stored: %v", oe.Kind, err)
		}
		for _, class := range []error{objstore.ErrExists, objstore.ErrPrecondition} {
			if errors.Is(err, class) {
				t.Errorf("the error is %v; want no class, as the write may have been stored: %v", class, err)
			}
		}
		if !strings.Contains(err.Error(), "may have been stored") {
			t.Errorf("the error does not say the write may have been stored: %v", err)
		}
	}
}

// byRequest groups requests by method, URL and range: the attempts of
// one request.
func byRequest(reqs []Request) map[string][]Request {
	m := map[string][]Request{}
	for _, r := range reqs {
		k := r.Method + " " + r.Path + "?" + r.RawQuery
		if rg := r.Header.Get("Range") + r.Header.Get("X-Ms-Range"); rg != "" {
			k += " " + rg
		}
		m[k] = append(m[k], r)
	}
	return m
}

// maxAttempts is the most attempts any one request made.
func maxAttempts(reqs []Request) int {
	most := 0
	for _, g := range byRequest(reqs) {
		most = max(most, len(g))
	}
	return most
}

func count(reqs []Request, f func(Request) bool) int {
	n := 0
	for _, r := range reqs {
		if f(r) {
			n++
		}
	}
	return n
}

// keyFor is a key of the subtest's own. It is the prefix of no other
// subtest's key, so that listing one key's uploads or objects by prefix
// finds none of another's, when subtests run in parallel.
func keyFor(t *testing.T) string {
	name := t.Name()
	if i := strings.Index(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return strings.NewReplacer("/", "-", " ", "_").Replace(name) + ".bin"
}

func random(n int64) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// onMessage is a slog.Handler that calls f for every record whose
// message is msg.
type onMessage struct {
	msg string
	f   func()
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }

func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.f()
	}
	return nil
}

func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *onMessage) WithGroup(string) slog.Handler      { return h }
