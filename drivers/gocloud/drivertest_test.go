package gocloud_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"

	"github.com/objstore-go/objstore"
	_ "github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/drivers/gocloud"
	_ "github.com/objstore-go/objstore/drivers/memory"
	_ "github.com/objstore-go/objstore/drivers/s3"
	"github.com/objstore-go/objstore/internal/testenv"
)

// harness is drivertest's Harness over an objstore URL: every MakeDriver
// opens the same bucket under the same random prefix.
type harness struct {
	url, missing string
}

func (h *harness) MakeDriver(ctx context.Context) (driver.Bucket, error) {
	s, err := objstore.Open(ctx, h.url)
	if err != nil {
		return nil, err
	}
	return gocloud.NewDriver(s), nil
}

func (h *harness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	s, err := objstore.Open(ctx, h.missing)
	if err != nil {
		return nil, err
	}
	return gocloud.NewDriver(s), nil
}

func (h *harness) HTTPClient() *http.Client         { return nil }
func (h *harness) SupportsCopy() bool               { return true }
func (h *harness) SupportsNonSlashDelimiters() bool { return false }

// SkipDownloadAt is false: the adapter's bucket has no DownloadAt, so
// gocloud's blob.Bucket.Download into an io.WriterAt falls back to its
// portable copy, which the test must see work.
func (h *harness) SkipDownloadAt() bool { return false }
func (h *harness) Close()               {}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withPrefix returns raw with prefix as its path, and missing, the same URL
// with a bucket that does not exist.
func withPrefix(raw, prefix string) (inBucket, missing string) {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), prefix)
	inBucket = u.String()
	u.Host = "objstore-missing-" + randomHex()
	return inBucket, u.String()
}

// childEnv names the backend a re-executed test binary runs drivertest
// against.
const childEnv = "OBJSTORE_GOCLOUD_DRIVERTEST_CHILD"

// drivertestFailures are the drivertest subtests (leaves, without the
// top-level test's name) that fail over the reverse adapter, per backend.
// docs/GOCLOUD.md says why each is a deliberate difference. Every other
// subtest must pass.
var drivertestFailures = map[string][]string{
	"memory": commonFailures,
	"s3":     commonFailures,
	"azure":  commonFailures,
}

// commonFailures come from the contract, not from a backend.
var commonFailures = []string{
	// WriterOptions.CacheControl, ContentDisposition, ContentEncoding and
	// ContentLanguage: objstore stores none of them, and refuses them
	// rather than drop them.
	"TestAttributes",
	"TestCopy/Works",
	// Keys rule K1 rejects: a segment ending in a dot.
	"TestDirsWithCharactersBeforeDelimiter",
	// Keys rule K1 rejects: control characters, DEL, a trailing "/",
	// backslashes, "//", ".." segments.
	"TestKeys/ascii-1",
	"TestKeys/ascii-2",
	"TestKeys/ascii-3",
	"TestKeys/ascii-6",
	"TestKeys/ascii-8",
	"TestKeys/backslashes",
	"TestKeys/dotdotbackslash",
	"TestKeys/dotdotslash",
	"TestKeys/repeatedbackslashes",
	"TestKeys/repeatedfwdslashes",
	"TestListDelimiters/backslash",
	"TestListWeirdKeys",
	// Metadata keys rule M1 rejects ("@", non-ASCII).
	"TestMetadata/weird_metadata_keys",
}

// runDrivertest runs gocloud.dev's drivertest over the objstore store at
// rawURL. drivertest cannot skip a subtest from outside and a failing
// subtest fails its parent, so the suite runs in a child process (this
// test binary, re-executed with -test.run) and this test asserts that the
// set of failing subtests is exactly the documented one.
func runDrivertest(t *testing.T, backend, rawURL, missing string) {
	if os.Getenv(childEnv) == backend {
		h := &harness{url: rawURL, missing: missing}
		drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) { return h, nil }, nil)
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.timeout=5m", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+backend)
	out, err := cmd.CombinedOutput()
	var failed []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, ok := strings.CutPrefix(line, "--- FAIL: ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " (")
		failed = append(failed, strings.TrimPrefix(name, t.Name()+"/"))
	}
	// Keep the leaves: a parent fails because a child did.
	var leaves []string
	for _, f := range failed {
		if f == t.Name() {
			continue
		}
		if !slices.ContainsFunc(failed, func(g string) bool { return strings.HasPrefix(g, f+"/") }) {
			leaves = append(leaves, f)
		}
	}
	slices.Sort(leaves)
	want := slices.Sorted(slices.Values(drivertestFailures[backend]))
	if !slices.Equal(leaves, want) {
		t.Errorf("drivertest over %s: failing subtests\n %q\nwant exactly the documented\n %q\n(child exit: %v)\n%s", backend, leaves, want, err, out)
		return
	}
	if err == nil && len(want) > 0 {
		t.Errorf("the child passed, but failures were expected")
	}
	if err != nil && len(want) == 0 {
		t.Errorf("the child failed with no failing subtest: %v\n%s", err, out)
	}
	t.Logf("drivertest over %s: %d documented subtests failed, as expected: %q", backend, len(leaves), leaves)
}

func TestDrivertestMemory(t *testing.T) {
	// The child is another process: its mem:// store is its own.
	runDrivertest(t, "memory", "mem://gocloud-drivertest", "mem://gocloud-drivertest-missing?create=false")
}

func TestDrivertestS3(t *testing.T) {
	raw := testenv.URL(t, "OBJSTORE_TEST_S3_URL")
	u, missing := withPrefix(raw, "gocloud-drivertest-"+randomHex())
	if os.Getenv(childEnv) == "s3" {
		u, missing = os.Getenv(childEnv+"_URL"), os.Getenv(childEnv+"_MISSING")
	} else {
		t.Setenv(childEnv+"_URL", u)
		t.Setenv(childEnv+"_MISSING", missing)
	}
	runDrivertest(t, "s3", u, missing)
}

func TestDrivertestAzure(t *testing.T) {
	raw := testenv.URL(t, "OBJSTORE_TEST_AZURE_URL")
	u, missing := withPrefix(raw, "gocloud-drivertest-"+randomHex())
	if os.Getenv(childEnv) == "azure" {
		u, missing = os.Getenv(childEnv+"_URL"), os.Getenv(childEnv+"_MISSING")
	} else {
		t.Setenv(childEnv+"_URL", u)
		t.Setenv(childEnv+"_MISSING", missing)
	}
	runDrivertest(t, "azure", u, missing)
}
