package gocloud_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/drivers/gocloud"
)

// bridgeDeviations are the conformance cases that do not pass over the
// bridge, with the status they have instead. docs/GOCLOUD.md explains each.
// Every other case must pass.
var bridgeDeviations = map[string]map[string]conformance.Status{
	"memblob": with(gocloudUnsupported, map[string]conformance.Status{
		// memblob has no bucket that can be missing.
		"K1/BeforeAnyRequest": conformance.Fail,
		"L5/MissingBucket":    conformance.Fail,
	}),
	"fileblob": with(gocloudUnsupported, map[string]conformance.Status{
		// fileblob's IfNotExist is a stat then a rename: not atomic.
		"P4/IfAbsent":     conformance.Unsupported,
		"P4/IfAbsentRace": conformance.Unsupported,
		// Its PutIfAbsent step needs the IfAbsent fileblob lacks.
		"P6/ZeroByte": conformance.Unsupported,
		// A missing directory fails fileblob's open.
		"K1/BeforeAnyRequest": conformance.Fail,
		"L5/MissingBucket":    conformance.Fail,
		// fileblob lists in directory-walk order: "a/b/c" before "a/b%2Fc".
		"K2/OpaqueKeys": conformance.Fail,
		// fileblob races: these fail when two writes (or a write and a
		// read) meet, which they usually but not always do.
		"P1/ReadersSeeWholeObjects": flaky,
		"P3/OverwriteChangesETag":   flaky,
		"X2/Concurrent":             flaky,
	}),
	"s3blob": with(gocloudUnsupported, map[string]conformance.Status{
		// s3blob's Copy does not escape a space in the copy source.
		"K2/OpaqueKeys": conformance.Fail,
		// A large IfNotExist put over an existing key: MinIO may answer
		// 412 while the body is still being sent and reset the
		// connection, which s3blob reports as an unknown error rather
		// than a failed precondition.
		"P7/Large": unsupportedOrFail,
		// Its large IfAbsent step, for the same reason.
		"P9/ReaderAtBody": unsupportedOrFail,
	}),
	"azureblob": with(gocloudUnsupported, map[string]conformance.Status{
		// azureblob escapes keys, so the service sorts the escaped
		// names: "HELLO/x" before "%48%45%4C%4C%4F/x".
		"K2/OpaqueKeys": conformance.Fail,
		// Get reads the attributes, then the body; under back-to-back
		// overwrites it can give up after five mismatches.
		"P1/ReadersSeeWholeObjects": flaky,
	}),
	// gcsblob against fake-gcs-server: nothing beyond gocloud's limits.
	"gcsblob": maps.Clone(gocloudUnsupported),
}

// gocloudUnsupported are the cases of rules gocloud.dev/blob cannot
// express on any driver.
var gocloudUnsupported = map[string]conformance.Status{
	"P5/IfMatch":       conformance.Unsupported, // no conditional overwrite
	"P5/IfMatchRace":   conformance.Unsupported,
	"P7/Large":         conformance.Unsupported, // its IfMatch steps
	"P9/ReaderAtBody":  conformance.Unsupported, // its IfMatch step
	"G4/Preconditions": conformance.Unsupported, // no conditional read
	"C2/MissingSource": conformance.Unsupported, // its IfAbsent copy
	"C3/IfAbsent":      conformance.Unsupported, // no conditional copy
	"C3/IfAbsentRace":  conformance.Unsupported,
	"C4/IfMatch":       conformance.Unsupported,
	"C6/Large":         conformance.Unsupported, // its conditional copies
	"M2/ContentType":   conformance.Unsupported, // "IMAGE/PNG" would become "image/png"
}

func with(base, extra map[string]conformance.Status) map[string]conformance.Status {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// checkBridge runs the conformance suite with conformance.Check, so that
// the test can assert the exact set of deviations instead of failing on
// the first documented one, and reports every case as a subtest.
func checkBridge(t *testing.T, name string, h conformance.Harness, want map[string]conformance.Status) {
	results, err := conformance.Check(t.Context(), h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.ID] = true
		t.Run(r.ID, func(t *testing.T) {
			w, ok := want[r.ID]
			if !ok {
				w = conformance.Pass
			}
			if r.Status != w && !(w == flaky && (r.Status == conformance.Fail || r.Status == conformance.Pass)) &&
				!(w == unsupportedOrFail && (r.Status == conformance.Fail || r.Status == conformance.Unsupported)) {
				t.Errorf("%s: %s (%s), documented as %s", r.ID, r.Status, r.Reason, w)
			} else if r.Status != conformance.Pass {
				t.Logf("%s: %s as documented: %.300s", r.ID, r.Status, r.Reason)
			}
		})
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if !seen[id] {
			t.Errorf("documented deviation %s is not a case of the suite", id)
		}
	}
}

// flaky marks a case that fails or passes by timing; either is accepted.
const flaky conformance.Status = "fail, or pass by timing"

// unsupportedOrFail marks a case whose outcome depends on when the server
// answers: reported unsupported, or failed by an unclassified error.
const unsupportedOrFail conformance.Status = "unsupported, or fail by timing"

// The KeyRules of the wrapped buckets (rule K3): memblob and gcsblob hold
// any key; fileblob maps "a/./b" and "/a" to the files a/b and a.
var (
	anyKeys  = driver.KeyRules{Backend: "gocloud.dev/blob", MaxLen: driver.MaxKeyLen}
	fileKeys = driver.KeyRules{Backend: "gocloud.dev/blob/fileblob", MaxLen: driver.MaxKeyLen, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, MaxSegment: 255}
)

func sdkError(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }

func TestConformanceMemblob(t *testing.T) {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	checkBridge(t, "memblob", conformance.Harness{
		URL: "gocloud+mem://",
		Open: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+mem", Prefix: prefix, AtomicIfNotExist: true, KeyRules: &anyKeys})
		},
		OpenNative: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+mem", Prefix: prefix, AtomicIfNotExist: true, Keys: objstore.KeysNative, KeyRules: &anyKeys})
		},
		LargeSizes:  []int64{6<<20 + 3},
		SDKError:    sdkError,
		CaseTimeout: 2 * time.Minute,
	}, bridgeDeviations["memblob"])
}

func TestConformanceFileblob(t *testing.T) {
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	checkBridge(t, "fileblob", conformance.Harness{
		// The path of a gocloud+file URL is fileblob's directory, not a key
		// prefix; "/" keeps the suite's key-length arithmetic (rule K2)
		// right. The URL itself is opened only by the U rules, which
		// expect errors.
		URL:              "gocloud+file:///",
		MissingBucketURL: "gocloud+file://" + dir + "/objstore-missing-directory",
		Open: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+file", Prefix: prefix, KeyRules: &fileKeys})
		},
		OpenNative: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+file", Prefix: prefix, Keys: objstore.KeysNative, KeyRules: &fileKeys})
		},
		LargeSizes:  []int64{6<<20 + 3},
		SDKError:    sdkError,
		CaseTimeout: 2 * time.Minute,
	}, bridgeDeviations["fileblob"])
}
