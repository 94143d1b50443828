// Package conformance is the suite every objstore driver runs: one case or
// more per rule of docs/SEMANTICS.md, each named by its rule ID
// ("P4/IfAbsentRace").
//
// A driver's test calls Run with a Harness. The same cases run outside go
// test through Check, which returns a Result per case; the objstore
// command's check uses it to test any bucket.
//
// Every run writes under a fresh random key prefix and deletes what it
// wrote. A driver declares a rule unsupported only by returning
// objstore.ErrUnsupported; the suite reports that case as unsupported (or
// fails it, with Harness.RequireAll), and never skips anything silently.
package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// T is the part of testing.TB the cases use. *testing.T satisfies it; Check
// supplies its own.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// Harness describes the store under test.
type Harness struct {
	// URL opens the store under test, for example
	// "s3://bucket?region=us-east-1". The suite appends its own key prefix
	// to the URL's path (rule U3) and uses the URL for the U rules.
	URL string

	// Open, if set, opens the store under test with its keys under prefix,
	// which is "" (the store's root) or ends in "/". It replaces objstore.Open
	// for drivers that are built from a client rather than a URL.
	Open func(ctx context.Context, prefix string) (objstore.Store, error)

	// OpenNative, if set, opens the store under test as Open does, but in
	// objstore.KeysNative mode (the keys=native URL parameter), to write
	// the keys and metadata that other tools write (rules K3, K4 and M3).
	// Nil means URL with keys=native added, when Open is nil too; with Open
	// set and OpenNative nil, those rules are reported unsupported.
	OpenNative func(ctx context.Context, prefix string) (objstore.Store, error)

	// MissingBucketURL opens a store whose bucket does not exist (rule L5).
	// Empty means URL with its host replaced by a random name.
	MissingBucketURL string

	// LargeSizes are the object sizes for the large-object rules (P7, C6),
	// which should be above the driver's multipart thresholds. Empty means
	// the sizes in OBJSTORE_CONFORMANCE_LARGE (a comma-separated list such
	// as "12MiB,1GiB"), or else one quick size of 12 MiB + 3 bytes.
	LargeSizes []int64
	// LargePut is the tuning applied to the large puts, such as a small
	// PartSize to exercise many parts.
	LargePut objstore.PutOptions

	// RequireAll fails a case whose driver returns ErrUnsupported, rather
	// than reporting it as unsupported. A driver that claims the whole
	// contract sets it.
	RequireAll bool

	// Racers is the number of concurrent callers in the race cases (P4, P5,
	// C3, X2). Zero means 8.
	Racers int

	// SDKError, if set, reports whether err (a not-found error from the
	// driver) reaches the SDK's own error type with errors.As (rule E1).
	SDKError func(err error) bool

	// CaseTimeout bounds each case. Zero means 10 minutes.
	CaseTimeout time.Duration

	// LoseAnswer, if set, opens the store under test with its keys under
	// prefix, as Open does, through something that can lose answers, such
	// as a proxy: lose(key) makes the answer to the next request that
	// commits a multipart put to key (S3's CompleteMultipartUpload,
	// Azure's Put Block List) never reach the store, after the server has
	// carried the request out (rule P10). A driver whose writes send no
	// request has no answer to lose and leaves it nil; P10 then holds
	// without a test.
	LoseAnswer func(ctx context.Context, prefix string) (s objstore.Store, lose func(key string), err error)
}

// Status is the outcome of one case.
type Status string

// The outcomes of a case.
const (
	Pass        Status = "pass"
	Fail        Status = "fail"
	Unsupported Status = "unsupported"
)

// Result is the outcome of one case, as Check reports it.
type Result struct {
	ID      string // the case, "P4/IfAbsentRace"
	Rule    string // its rule, "P4"
	Status  Status
	Reason  string // why it failed or is unsupported; the log of a failing case
	Elapsed time.Duration
}

type testCase struct {
	id  string
	run func(c *C)
}

// Cases returns the IDs of every case, in the order they run.
func Cases() []string {
	ids := make([]string, len(cases))
	for i, tc := range cases {
		ids[i] = tc.id
	}
	return ids
}

// Run runs every case as a subtest of t, named by its ID.
func Run(t *testing.T, h Harness) {
	t.Helper()
	r, err := newRun(t.Context(), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("conformance: writing under %q", r.prefix)
	t.Cleanup(func() { r.cleanup(t.Logf) })
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), r.h.CaseTimeout)
			defer cancel()
			r.runCase(ctx, t, tc)
		})
	}
}

// Check runs the cases outside go test and returns a Result for each, in
// order. match, if not nil, selects the cases to run by ID. progress, if not
// nil, is called with each Result as it is known. The error is about the
// run itself (the store cannot be opened), not about any case.
func Check(ctx context.Context, h Harness, match func(id string) bool, progress func(Result)) ([]Result, error) {
	r, err := newRun(ctx, h)
	if err != nil {
		return nil, err
	}
	defer r.cleanup(func(string, ...any) {})
	var results []Result
	for _, tc := range cases {
		if match != nil && !match(tc.id) {
			continue
		}
		res := r.check(ctx, tc)
		results = append(results, res)
		if progress != nil {
			progress(res)
		}
	}
	return results, nil
}

// run is one run of the suite: a normalised harness and a random prefix.
type run struct {
	h      Harness
	prefix string // "objstore-conformance-<time>-<random>/"
	base   int    // bytes of key prefix the store's URL path adds
}

func newRun(ctx context.Context, h Harness) (*run, error) {
	if h.URL == "" && h.Open == nil {
		return nil, errors.New("conformance: the Harness needs a URL or an Open function")
	}
	if h.Racers <= 0 {
		h.Racers = 8
	}
	if h.CaseTimeout <= 0 {
		h.CaseTimeout = 10 * time.Minute
	}
	if len(h.LargeSizes) == 0 {
		sizes, err := sizesFromEnv(os.Getenv("OBJSTORE_CONFORMANCE_LARGE"))
		if err != nil {
			return nil, err
		}
		h.LargeSizes = sizes
	}
	r := &run{h: h, prefix: fmt.Sprintf("objstore-conformance-%d-%s/", time.Now().Unix(), randomHex(4))}
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil {
			return nil, fmt.Errorf("conformance: Harness.URL: %w", err)
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			r.base = len(p) + 1
		}
		if r.h.MissingBucketURL == "" {
			u.Host = "objstore-missing-" + randomHex(6)
			r.h.MissingBucketURL = u.String()
		}
	}
	// Fail early, and once, when the store cannot be opened at all.
	s, err := r.open(ctx, r.prefix)
	if err != nil {
		return nil, fmt.Errorf("conformance: opening the store under test: %w", err)
	}
	s.Close()
	return r, nil
}

// open opens the store under test with its keys under prefix.
func (r *run) open(ctx context.Context, prefix string) (objstore.Store, error) {
	if r.h.Open != nil {
		return r.h.Open(ctx, prefix)
	}
	return objstore.Open(ctx, withPath(r.h.URL, prefix))
}

// openNative opens the store under test in KeysNative mode with its keys
// under prefix. ok is false when the harness cannot.
func (r *run) openNative(ctx context.Context, prefix string) (s objstore.Store, ok bool, err error) {
	switch {
	case r.h.OpenNative != nil:
		s, err = r.h.OpenNative(ctx, prefix)
		return s, true, err
	case r.h.Open != nil:
		return nil, false, nil
	}
	u, err := url.Parse(withPath(r.h.URL, prefix))
	if err != nil {
		return nil, true, err
	}
	q := u.Query()
	q.Set(driver.KeysParam, objstore.KeysNative.String())
	u.RawQuery = q.Encode()
	s, err = objstore.Open(ctx, u.String())
	return s, true, err
}

// withPath returns rawURL with prefix joined to its path.
func withPath(rawURL, prefix string) string {
	u, err := url.Parse(rawURL)
	if err != nil || prefix == "" {
		return rawURL
	}
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), prefix)
	u.RawPath = ""
	return u.String()
}

func (r *run) runCase(ctx context.Context, t T, tc testCase) {
	t.Helper()
	dir := r.prefix + strings.ReplaceAll(tc.id, "/", "-") + "/"
	s, err := r.open(ctx, dir)
	if err != nil {
		t.Fatalf("opening the store at prefix %q: %v", dir, err)
	}
	defer s.Close()
	tc.run(&C{T: t, ctx: ctx, s: s, r: r, dir: dir, rule: ruleOf(tc.id)})
}

// check runs one case with a recorder in place of *testing.T.
func (r *run) check(ctx context.Context, tc testCase) Result {
	ctx, cancel := context.WithTimeout(ctx, r.h.CaseTimeout)
	defer cancel()
	rec := &recorder{}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer rec.runCleanups()
		defer func() {
			if p := recover(); p != nil {
				rec.Errorf("panic: %v", p)
			}
		}()
		r.runCase(ctx, rec, tc)
	}()
	<-done
	res := Result{ID: tc.id, Rule: ruleOf(tc.id), Elapsed: time.Since(start), Status: Pass}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case rec.failed:
		res.Status, res.Reason = Fail, strings.Join(rec.errors, "; ")
	case rec.skipped != "":
		res.Status, res.Reason = Unsupported, rec.skipped
	}
	return res
}

// cleanup deletes everything the run wrote.
func (r *run) cleanup(logf func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := r.open(ctx, "")
	if err != nil {
		logf("conformance cleanup: %v", err)
		return
	}
	defer s.Close()
	n := 0
	for e, err := range s.List(ctx, &objstore.ListOptions{Prefix: r.prefix}) {
		if err != nil {
			logf("conformance cleanup: listing %q: %v", r.prefix, err)
			return
		}
		if err := s.Delete(ctx, e.Key); err != nil {
			logf("conformance cleanup: %v", err)
		}
		if n++; n > 1_000_000 {
			logf("conformance cleanup: gave up after %d keys", n)
			return
		}
	}
}

// recorder is the T of Check.
type recorder struct {
	mu       sync.Mutex
	failed   bool
	errors   []string
	skipped  string
	cleanups []func()
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Cleanup(f func())          { r.mu.Lock(); r.cleanups = append(r.cleanups, f); r.mu.Unlock() }
func (r *recorder) Failed() bool              { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); runtime.Goexit() }
func (r *recorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}
func (r *recorder) Skipf(f string, a ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(f, a...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func ruleOf(id string) string { rule, _, _ := strings.Cut(id, "/"); return rule }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sizesFromEnv parses "12MiB,1GiB,5000000".
func sizesFromEnv(v string) ([]int64, error) {
	if v == "" {
		return []int64{12<<20 + 3}, nil
	}
	var out []int64
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
			if n, ok := strings.CutSuffix(f, suffix); ok {
				f, mult = n, m
			}
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("conformance: OBJSTORE_CONFORMANCE_LARGE=%q: each size is a positive number with an optional KiB, MiB or GiB suffix", v)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
