package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore/internal/faultproxy"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestFlagsAnywhere: flags after the operands, GNU long forms, "--", and
// mistakes reported in two lines (issue 15, item 1).
func TestFlagsAnywhere(t *testing.T) {
	src, files := writeTree(t)
	at, _ := freshPrefix(t, "file:///")
	mustRun(t, nil, "cp", src, at("a"), "-r")
	mustRun(t, nil, "cp", "--recursive", src, at("b"), "--jobs", "2", "-q")
	out := t.TempDir()
	mustRun(t, nil, "cp", at("b"), out, "--recursive")
	checkTree(t, out, files)
	if got := mustRun(t, nil, "ls", at("a/sub/"), "-l"); !strings.Contains(got, "notes.txt") {
		t.Errorf("ls URL -l printed %q", got)
	}
	if got := mustRun(t, nil, "ls", "--recursive", "--json", at("a/")); strings.Count(got, "\n") != len(files) {
		t.Errorf("ls --recursive --json printed %q", got)
	}
	// "--" ends the flags: what follows is an operand, even "-r".
	dash := filepath.Join(t.TempDir(), "-r")
	os.WriteFile(dash, []byte("dash"), 0o644)
	mustRun(t, nil, "cp", "--", dash, at("dash"))
	if got := mustRun(t, nil, "cat", at("dash")); got != "dash" {
		t.Errorf("cp -- %s: cat printed %q", dash, got)
	}

	for _, args := range [][]string{
		{"cp", src, at("c"), "a-third-operand", "-r"},
		{"cp", src, at("c"), "--recursiv"},
		{"ls", "-l"},
		{"bench", "--large", "64 parsecs", "mem://"},
		{"check", "--nosuch", "mem://"},
	} {
		r := objstoreCmd(t, nil, args...)
		if r.code != exitUsage || strings.Count(r.stderr, "\n") != 2 || !strings.Contains(r.stderr, "usage: objstore "+args[0]) {
			t.Errorf("objstore %q exited %d and printed\n%s\nwant status 2 and two lines: the mistake and the synopsis", args, r.code, r.stderr)
		}
	}
	// -h is help asked for: on stdout, status 0, for every command.
	for _, c := range []string{"cp", "ls", "cat", "stat", "rm", "check", "bench"} {
		r := objstoreCmd(t, nil, c, "-h")
		if r.code != exitOK || !strings.HasPrefix(r.stdout, "usage: objstore "+c) || r.stderr != "" {
			t.Errorf("objstore %s -h exited %d, stdout %q, stderr %q", c, r.code, r.stdout, r.stderr)
		}
	}
	if r := objstoreCmd(t, nil, "cp", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "-r, --recursive") {
		t.Errorf("cp --help exited %d and printed %q; want the long forms listed", r.code, r.stdout)
	}
}

// TestSizesWithUnits: every size flag takes units (issue 15, items 10, 11).
func TestSizesWithUnits(t *testing.T) {
	var results []benchResult
	out := mustRun(t, nil, "bench", "--json", "-n", "2", "--small", "1KiB", "--large", "1.5MiB", "mem://units")
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if results[0].Size != 1024 || results[len(results)-1].Size != 3<<19 {
		t.Errorf("bench --small 1KiB --large 1.5MiB measured sizes %d and %d", results[0].Size, results[len(results)-1].Size)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "64MiB": 64 << 20, "64mib": 64 << 20, "64M": 64 << 20, "64MB": 64e6,
		"1.5GiB": 3 << 29, "8 KiB": 8 << 10, "1T": 1 << 40, "12b": 12,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.2.3", "64 parsecs", "1e3", "99999999TiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestVersionAndHelp: version names the Go version and the drivers, and
// help says how to set an S3 endpoint once (issue 15, items 2 and 3).
func TestVersionAndHelp(t *testing.T) {
	out := mustRun(t, nil, "version")
	for _, want := range []string{"objstore ", runtime.Version(), "drivers: azblob file mem s3"} {
		if !strings.Contains(out, want) {
			t.Errorf("version printed %q, want it to contain %q", out, want)
		}
	}
	help := mustRun(t, nil, "help")
	for _, want := range []string{"AWS_ENDPOINT_URL_S3", "or AWS_ENDPOINT_URL,", "version", "130 interrupted"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not mention %q:\n%s", want, help)
		}
	}
}

// TestEndpointFromEnvironment: an s3:// URL without endpoint= reaches
// MinIO through AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
func TestEndpointFromEnvironment(t *testing.T) {
	endpoint := testenv.URL(t, "OBJSTORE_TEST_MINIO_ENDPOINT")
	u, err := url.Parse(testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	if err != nil {
		t.Fatal(err)
	}
	at, prefix := freshPrefix(t, u.String())
	mustRun(t, []byte("env"), "cp", "-", at("k"))
	bare := "s3://" + u.Host + "/" + prefix + "k"
	for _, name := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		cmd := exec.Command(binary, "cat", bare)
		cmd.Env = append(os.Environ(), name+"="+endpoint, "AWS_REGION=")
		got, err := cmd.Output()
		if err != nil || string(got) != "env" {
			t.Errorf("%s=%s objstore cat %s: %q, %v", name, endpoint, bare, got, err)
		}
	}
}

// TestLsLong: ls -l prints raw byte counts when stdout is not a terminal,
// sizes with units with --human-readable, and a total with --summarize
// (issue 15, item 6).
func TestLsLong(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, _ := freshPrefix(t, b.store(t))
			src, files := writeTree(t)
			mustRun(t, nil, "cp", "-r", "-q", src, at(""))
			var total int64
			for _, d := range files {
				total += int64(len(d))
			}
			lines := strings.Split(strings.TrimSpace(mustRun(t, nil, "ls", "-l", "-r", "--summarize", at(""))), "\n")
			if len(lines) != len(files)+1 || lines[len(lines)-1] != fmt.Sprintf("total: %d objects, %d", len(files), total) {
				t.Errorf("ls -l -r --summarize printed\n%s", strings.Join(lines, "\n"))
			}
			if f := strings.Fields(lines[0]); f[0] != strconv.Itoa(len(files["big.bin"])) {
				t.Errorf("ls -l off a terminal printed %q, want the size in bytes first", lines[0])
			}
			out := mustRun(t, nil, "ls", "--long", "--human-readable", "--summarize", at(""))
			if !strings.Contains(out, "   3.0 MiB  ") || !strings.HasSuffix(out, "total: 2 objects, 3.0 MiB\n") || !regexp.MustCompile(`(?m)^ +- +- +- +\S+/sub/$`).MatchString(out) {
				t.Errorf("ls --long --human-readable --summarize printed\n%s", out)
			}
		})
	}
}

// TestRm: rm -r --dry-run and -v, and rm of a prefix without -r
// (issue 15, item 7).
func TestRm(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, _ := freshPrefix(t, b.store(t))
			src, files := writeTree(t)
			mustRun(t, nil, "cp", "-r", "-q", src, at(""))
			count := func() int {
				return strings.Count(mustRun(t, nil, "ls", "-r", at("")), "\n")
			}
			// A prefix without -r: status 3, the hint, nothing deleted.
			r := objstoreCmd(t, nil, "rm", at("sub"))
			if r.code != exitNotFound || !strings.Contains(r.stderr, "did you mean rm -r?") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("rm of a prefix without -r exited %d: %q; want 3 and \"did you mean rm -r?\"", r.code, r.stderr)
			}
			if n := count(); n != len(files) {
				t.Fatalf("rm of a prefix without -r left %d of %d objects", n, len(files))
			}
			want := []string{at("sub/deep/x.json"), at("sub/notes.txt")}
			lines := func(out, verb string) []string {
				var got []string
				for l := range strings.Lines(out) {
					got = append(got, strings.TrimPrefix(strings.TrimSuffix(l, "\n"), verb+" "))
				}
				slices.Sort(got)
				return got
			}
			if got := lines(mustRun(t, nil, "rm", "-r", "--dry-run", at("sub")), "would delete"); !slices.Equal(got, want) {
				t.Errorf("rm -r --dry-run listed %q, want %q", got, want)
			}
			if n := count(); n != len(files) {
				t.Fatalf("rm -r --dry-run deleted %d objects", len(files)-n)
			}
			if got := lines(mustRun(t, nil, "rm", at("sub"), "-r", "-v"), "deleted"); !slices.Equal(got, want) {
				t.Errorf("rm -r -v listed %q, want %q", got, want)
			}
			if n := count(); n != len(files)-2 {
				t.Errorf("after rm -r sub, %d objects are left, want %d", n, len(files)-2)
			}
			if got := mustRun(t, nil, "rm", "--verbose", at("empty")); got != "deleted "+at("empty")+"\n" {
				t.Errorf("rm -v of an object printed %q", got)
			}
			if got := mustRun(t, nil, "rm", "-v", at("never-was")); got != "" { // a missing object: status 0, nothing deleted
				t.Errorf("rm -v of a missing object printed %q", got)
			}
		})
	}
}

// TestCpLocalDirs: cp creates a missing local directory for one file as
// for -r, and leaves none behind when it fails (issue 15, item 9).
func TestCpLocalDirs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, _ := freshPrefix(t, b.store(t))
			src, files := writeTree(t)
			mustRun(t, nil, "cp", "-r", "-q", src, at(""))
			out := t.TempDir()
			mustRun(t, nil, "cp", at("sub/notes.txt"), filepath.Join(out, "a", "b")+"/")
			mustRun(t, nil, "cp", at("sub/notes.txt"), filepath.Join(out, "c", "d", "renamed.txt"))
			mustRun(t, nil, "cp", "-r", at("sub"), filepath.Join(out, "e", "f"))
			checkTree(t, out, map[string][]byte{
				"a/b/notes.txt":   files["sub/notes.txt"],
				"c/d/renamed.txt": files["sub/notes.txt"],
				"e/f/notes.txt":   files["sub/notes.txt"],
				"e/f/deep/x.json": files["sub/deep/x.json"],
			})
			for _, args := range [][]string{
				{"cp", at("missing"), filepath.Join(out, "g", "h") + "/"},
				{"cp", at("missing"), filepath.Join(out, "g", "h", "file")},
				{"cp", "-r", at("nothing-here"), filepath.Join(out, "g", "h")},
			} {
				if r := objstoreCmd(t, nil, args...); r.code != exitNotFound {
					t.Errorf("objstore %q exited %d: %s", args, r.code, r.stderr)
				}
				if _, err := os.Lstat(filepath.Join(out, "g")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("objstore %q failed and left %s behind", args, filepath.Join(out, "g"))
				}
			}
		})
	}
}

// TestCpPartSize: --part-size and --concurrency reach the transfer of one
// large object: MinIO's ETag counts the parts.
func TestCpPartSize(t *testing.T) {
	at, _ := freshPrefix(t, testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	data := randomBytes(t, 12<<20+5)
	local := filepath.Join(t.TempDir(), "big")
	os.WriteFile(local, data, 0o644)
	mustRun(t, nil, "cp", local, at("big"), "--part-size", "5MiB", "--concurrency", "2")
	var st statOut
	if err := json.Unmarshal([]byte(mustRun(t, nil, "stat", "--json", at("big"))), &st); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(st.ETag, `-3"`) {
		t.Errorf("cp --part-size 5MiB of 12 MiB stored ETag %s, want one of 3 parts", st.ETag)
	}
	out := filepath.Join(t.TempDir(), "big")
	mustRun(t, nil, "cp", at("big"), out, "--part-size", "1MiB", "--concurrency", "3")
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Errorf("cp --part-size 1MiB --concurrency 3 downloaded %d bytes, not the %d uploaded", len(got), len(data))
	}
}

// TestInterrupt: Ctrl-C exits 130, says "interrupted" and what was left
// behind, and leaves nothing half-written (issue 15, item 8).
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	dst := "file://" + filepath.ToSlash(dir) + "/k"
	cmd := exec.Command(binary, "cp", "-", dst)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := stdin.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	// Wait until the upload is under way: the file driver's temporary
	// file holds the bytes written.
	deadline := time.Now().Add(time.Minute)
	for {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".objstore.", "tmp-*"))
		if len(tmps) == 1 {
			if fi, err := os.Stat(tmps[0]); err == nil && fi.Size() == 1000 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	stdin.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("cp interrupted: %v, want exit status 130; stderr %q", err, errOut.String())
	}
	if want := "objstore cp: interrupted; " + dst + " was not written\n"; errOut.String() != want {
		t.Errorf("cp interrupted printed %q, want %q", errOut.String(), want)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".objstore.", "tmp-*"))
	if _, err := os.Stat(filepath.Join(dir, "k")); !errors.Is(err, fs.ErrNotExist) || len(tmps) > 0 {
		t.Errorf("an interrupted cp left %s (%v) or temporary files %q", filepath.Join(dir, "k"), err, tmps)
	}
}

// TestCheckBadCredentials: a refused secret gives one line with the hint,
// not a failing row per case (issue 15, item 10). versitygw answers a
// HEAD with a wrong signature with a bare 403, which reads as permission
// denied.
func TestCheckBadCredentials(t *testing.T) {
	for _, store := range []string{testenv.URL(t, "OBJSTORE_TEST_S3_URL"), testenv.URL(t, "OBJSTORE_TEST_VERSITYGW_URL")} {
		cmd := exec.Command(binary, "check", store)
		cmd.Env = append(os.Environ(), "AWS_SECRET_ACCESS_KEY=wrong")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitFail || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 ||
			!strings.Contains(errOut.String(), "unauthenticated") && !strings.Contains(errOut.String(), "permission denied") ||
			!strings.Contains(errOut.String(), "credentials") {
			t.Errorf("check with a wrong secret: %v\nstdout %q\nstderr %q\nwant status 1 and one line with the hint", err, out.String(), errOut.String())
		}
	}
}

// TestCheckStreams: check prints each row as its case finishes. It reads
// the first row, then interrupts: a check that printed only at the end
// would have finished (status 0) before the row could be read.
func TestCheckStreams(t *testing.T) {
	cmd := exec.Command(binary, "check", testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	for i := 0; i < 2 && sc.Scan(); i++ { // the header, then the first row
	}
	cmd.Process.Signal(os.Interrupt)
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.HasPrefix(errOut.String(), "objstore check: interrupted; ") {
		t.Errorf("check interrupted after its first row: %v, stderr %q; want status 130", err, errOut.String())
	}
}

// withConfig runs the command with OBJSTORE_CONFIG set to config.
func withConfig(t *testing.T, config string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "OBJSTORE_CONFIG="+config)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNamedStores: store add|list|rm, NAME:KEY operands with and without
// a bucket in the named URL, container listing, and no secret in the
// file (issue 15, items 3 and 4).
func TestNamedStores(t *testing.T) {
	config := filepath.Join(t.TempDir(), "sub", "stores.json")
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		r := withConfig(t, config, stdin, args...)
		if r.code != 0 {
			t.Fatalf("objstore %q exited %d: %s", args, r.code, r.stderr)
		}
		return r.stdout
	}
	s3URL, err := url.Parse(testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	if err != nil {
		t.Fatal(err)
	}
	azURL, err := url.Parse(testenv.URL(t, "OBJSTORE_TEST_AZURE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	_, prefix := freshPrefix(t, s3URL.String())
	_, azPrefix := freshPrefix(t, azURL.String())
	bucket, container := s3URL.Host, azURL.Host
	withBucket := *s3URL
	withBucket.Path = "/" + prefix
	service := *s3URL
	service.Host = ""
	azService := *azURL
	azService.Host = ""

	run(nil, "store", "add", "mb", withBucket.String())
	run(nil, "store", "add", "minio", service.String())
	run(nil, "store", "add", "az", azService.String())
	run([]byte("named"), "cp", "-", "mb:dir/k")
	if got := run(nil, "cat", "minio:"+bucket+"/"+prefix+"dir/k"); got != "named" {
		t.Errorf("cat through a bucketless named store printed %q", got)
	}
	if got := run(nil, "ls", "-r", "mb:"); got != prefix+"dir/k\n" {
		t.Errorf("ls -r mb: printed %q", got)
	}
	run(nil, "cp", "mb:dir/k", "az:"+container+"/"+azPrefix+"k")
	if got := run(nil, "cat", "az:"+container+"/"+azPrefix+"k"); got != "named" {
		t.Errorf("cp between named stores copied %q", got)
	}
	if got := run(nil, "ls", "az:"); !slices.Contains(strings.Split(got, "\n"), container+"/") {
		t.Errorf("ls az: listed %q, want the container %s/", got, container)
	}
	if got := run(nil, "ls", "minio:"); !slices.Contains(strings.Split(got, "\n"), bucket+"/") {
		t.Errorf("ls minio: listed %q, want the bucket %s/", got, bucket)
	}
	var be bucketEntry
	if err := json.Unmarshal([]byte(strings.SplitN(run(nil, "ls", "--json", azService.String()), "\n", 2)[0]), &be); err != nil || be.Bucket == "" || !strings.HasPrefix(be.URL, "azblob://"+be.Bucket+"?") {
		t.Errorf("ls --json of an azblob service: %+v, %v", be, err)
	}
	be = bucketEntry{}
	if err := json.Unmarshal([]byte(strings.SplitN(run(nil, "ls", "--json", service.String()), "\n", 2)[0]), &be); err != nil || be.Bucket == "" || !strings.HasPrefix(be.URL, "s3://"+be.Bucket+"?") {
		t.Errorf("ls --json of an s3 service: %+v, %v", be, err)
	}
	list := run(nil, "store", "list")
	if !strings.Contains(list, "minio\t"+service.String()+"\n") || strings.Count(list, "\n") != 3 {
		t.Errorf("store list printed %q", list)
	}
	run(nil, "store", "rm", "mb")
	if r := withConfig(t, config, nil, "cat", "mb:dir/k"); r.code != exitUsage || !strings.Contains(r.stderr, "store list") {
		t.Errorf("cat of a forgotten name exited %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"store", "add", "leak", "s3://b?secret_access_key=SeCrEt"},
		{"store", "add", "leak", "s3://user:SeCrEt@b"},
		{"store", "add", "leak", "azblob://c?account=a&sig=SeCrEt"},
		{"store", "add", "s3", "s3://b"},
		{"store", "add", "C", "s3://b"},
		{"store", "add", "nourl", "bucket"},
		{"store", "rm"},
	} {
		if r := withConfig(t, config, nil, args...); r.code != exitUsage {
			t.Errorf("objstore %q exited %d, want 2: %s", args, r.code, r.stderr)
		}
	}
	if r := withConfig(t, config, nil, "store", "rm", "nosuch"); r.code != exitNotFound {
		t.Errorf("store rm of an unknown name exited %d", r.code)
	}
	if data, err := os.ReadFile(config); err != nil || strings.Contains(string(data), "SeCrEt") {
		t.Errorf("the config file holds %q, %v", data, err)
	}
	if fi, err := os.Stat(config); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the config file: %v, %v; want mode 0600", fi, err)
	}
	// Refused credentials: one classified line, exit 1, the secret unseen.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-CANARY-secret")
	if r := withConfig(t, config, nil, "ls", "minio:"); r.code != 1 || !strings.Contains(r.stderr, "unauthenticated") || strings.Contains(r.stderr, "CANARY") {
		t.Errorf("ls of buckets with a wrong secret exited %d: %s", r.code, r.stderr)
	}
}

// TestInterruptTree: Ctrl-C during cp -r and sync to S3, while one upload
// hangs at a proxy, exits 130 with "interrupted" and says what was left
// (issue 15, item 8): every object is whole or absent, and a rerun of
// the sync finishes the job.
func TestInterruptTree(t *testing.T) {
	p, proxied := faultproxy.NewFaultsFor(t, testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	for _, tc := range []struct {
		cmd  string
		want string // what the message says was left
	}{
		{"cp", "objects were copied, the others not; rerun to copy the rest (each is copied whole or not at all)"},
		{"sync", "copies were done, the others not; run the sync again to finish"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			at, prefix := freshPrefix(t, proxied)
			src, files := writeTree(t)
			// The upload of sub/notes.txt hangs until the interrupt.
			stalled := make(chan struct{})
			p.Arm(faultproxy.Fault{Kind: faultproxy.Stall, Method: http.MethodPut, PathSuffix: "/sub/notes.txt", Times: 1,
				OnFault: func(faultproxy.Request) { close(stalled) }})
			defer p.Disarm()
			args := []string{tc.cmd, "-q", src, at("")}
			if tc.cmd == "cp" {
				args = append(args, "-r")
			}
			cmd := exec.Command(binary, args...)
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			select {
			case <-stalled:
			case <-time.After(time.Minute):
				t.Fatalf("the upload never reached the proxy; stderr %q", errOut.String())
			}
			cmd.Process.Signal(os.Interrupt)
			err := cmd.Wait()
			p.Release()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("%s interrupted: %v, want exit status 130; stderr %q", tc.cmd, err, errOut.String())
			}
			if msg := errOut.String(); !strings.HasPrefix(msg, "objstore "+tc.cmd+": interrupted; ") || !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 1 {
				t.Errorf("%s interrupted printed %q, want one line saying %q", tc.cmd, msg, tc.want)
			}
			// Whatever was copied is whole; the stalled object is absent.
			for _, line := range strings.Split(mustRun(t, nil, "ls", "-r", at("")), "\n") {
				if line == "" {
					continue
				}
				name := strings.TrimPrefix(line, prefix)
				if want, ok := files[name]; !ok {
					t.Errorf("the interrupted %s left %q, which is not in the tree", tc.cmd, line)
				} else if got := mustRun(t, nil, "cat", at(name)); got != string(want) {
					t.Errorf("the interrupted %s left %q with %d bytes, want %d", tc.cmd, name, len(got), len(want))
				}
				if name == "sub/notes.txt" {
					t.Errorf("the stalled upload %q is there", name)
				}
			}
			if tc.cmd == "sync" {
				mustRun(t, nil, "sync", "-q", src, at(""))
				for name, want := range files {
					if got := mustRun(t, nil, "cat", at(name)); got != string(want) {
						t.Errorf("after the rerun, %q holds %d bytes, want %d", name, len(got), len(want))
					}
				}
			}
		})
	}
}
