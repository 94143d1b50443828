package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/internal/testenv"
)

// binary is the objstore command built once by TestMain; the end-to-end
// tests run it as users do.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "objstore-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "objstore")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// Built without -race, to keep the tests quick (a race-built command
	// is ten times slower); TestConcurrentInProcess runs the concurrent
	// paths under the test binary's -race instead.
	build := exec.Command(gobin, "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the objstore command:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// objstoreCmd runs the built command with args and stdin.
func objstoreCmd(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	// Not t.Context(): cleanups run commands after it is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("objstore %q: %v", args, err)
	}
	return r
}

// mustRun runs the command and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	r := objstoreCmd(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("objstore %q exited %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// backend is a store the tests can reach from two invocations.
type backend struct {
	name  string
	store func(t *testing.T) string // the store URL
}

var backends = []backend{
	{"file", func(t *testing.T) string { return "file:///" }},
	{"s3", func(t *testing.T) string { return testenv.URL(t, "OBJSTORE_TEST_S3_URL") }}, // MinIO
	{"versitygw", func(t *testing.T) string { return testenv.URL(t, "OBJSTORE_TEST_VERSITYGW_URL") }},
	{"azblob", func(t *testing.T) string { return testenv.URL(t, "OBJSTORE_TEST_AZURE_URL") }},
}

// freshPrefix returns the object URL of key under a fresh prefix of store
// (for file:// a new temporary directory), and the prefix; it removes what
// is under the prefix when the test ends.
func freshPrefix(t *testing.T, store string) (at func(key string) string, prefix string) {
	t.Helper()
	u, err := url.Parse(store)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme == "file" {
		prefix = strings.TrimPrefix(filepath.ToSlash(t.TempDir()), "/") + "/"
	} else {
		prefix = strings.TrimPrefix(u.Path, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		prefix += "cli-test-" + randomHex() + "/"
	}
	at = func(key string) string {
		v := *u
		v.Path, v.RawPath = "/"+prefix+key, ""
		return v.String()
	}
	t.Cleanup(func() {
		if u.Scheme != "file" {
			objstoreCmd(t, nil, "rm", "-r", at(""))
		}
	})
	return at, prefix
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// writeTree makes a local directory of files; it returns their contents
// by slash-separated relative path.
func writeTree(t *testing.T) (string, map[string][]byte) {
	dir := t.TempDir()
	files := map[string][]byte{
		"big.bin":         randomBytes(t, 3<<20+17),
		"empty":           {},
		"sub/notes.txt":   []byte("hello, world\n"),
		"sub/deep/x.json": []byte(`{"a":1}`),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

func checkTree(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	got := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got[filepath.ToSlash(rel)] = data
		}
		return nil
	})
	if len(got) != len(want) {
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		t.Fatalf("%s holds %d files %q, want %d", dir, len(got), names, len(want))
	}
	for name, data := range want {
		if !bytes.Equal(got[name], data) {
			t.Errorf("%s/%s: got %d bytes, want the %d bytes copied", dir, name, len(got[name]), len(data))
		}
	}
}

func TestCpRoundTrip(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, _ := freshPrefix(t, b.store(t))
			src, files := writeTree(t)

			// One file up and down, into a directory operand.
			mustRun(t, nil, "cp", filepath.Join(src, "big.bin"), at("one/"))
			out := t.TempDir()
			mustRun(t, nil, "cp", at("one/big.bin"), out)
			checkTree(t, out, map[string][]byte{"big.bin": files["big.bin"]})

			// A tree up and down.
			mustRun(t, nil, "cp", "-r", src, at("tree"))
			out = t.TempDir()
			mustRun(t, nil, "cp", "-r", at("tree/"), out)
			checkTree(t, out, files)

			// Within the store (Store.Copy) and through stdin and stdout.
			mustRun(t, nil, "cp", at("tree/sub/notes.txt"), at("copied.txt"))
			if got := mustRun(t, nil, "cat", at("copied.txt")); got != "hello, world\n" {
				t.Errorf("cat of a copy gave %q", got)
			}
			data := randomBytes(t, 100_000)
			mustRun(t, data, "cp", "-", at("stdin.bin"))
			if got := mustRun(t, nil, "cp", at("stdin.bin"), "-"); got != string(data) {
				t.Errorf("cp - then cp URL - gave %d bytes, want the %d written", len(got), len(data))
			}
		})
	}
}

func TestCpAcrossDrivers(t *testing.T) {
	s3, _ := freshPrefix(t, testenv.URL(t, "OBJSTORE_TEST_S3_URL"))
	az, _ := freshPrefix(t, testenv.URL(t, "OBJSTORE_TEST_AZURE_URL"))
	fileAt, _ := freshPrefix(t, "file:///")
	src, files := writeTree(t)
	mustRun(t, nil, "cp", "-r", src, fileAt("in"))
	mustRun(t, nil, "cp", "-r", fileAt("in"), s3("x"))
	mustRun(t, nil, "cp", "-r", s3("x"), az("y"))
	out := t.TempDir()
	mustRun(t, nil, "cp", "-r", az("y"), out)
	checkTree(t, out, files)

	// Content type and metadata travel with a streamed copy.
	mustRun(t, nil, "cp", s3("x/sub/notes.txt"), az("notes"))
	var st statOut
	if err := json.Unmarshal([]byte(mustRun(t, nil, "stat", "-json", az("notes"))), &st); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.ContentType, "text/plain") || st.Size != 13 {
		t.Errorf("stat after s3 → azblob copy: %+v, want a 13-byte text/plain object", st)
	}
}

func TestCpMem(t *testing.T) {
	// mem:// stores live as long as the process: a copy into one succeeds,
	// and the next invocation finds nothing.
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("x"), 0o644)
	mustRun(t, nil, "cp", src, "mem://cli/f")
	if r := objstoreCmd(t, nil, "cat", "mem://cli/f"); r.code != exitNotFound {
		t.Errorf("cat of a mem object from another process exited %d, want %d", r.code, exitNotFound)
	}
}

func TestCheckBackends(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := b.store(t)
			if b.name == "file" {
				store = "file://" + t.TempDir() + "?create=true"
			}
			var results []conformance.Result
			if err := json.Unmarshal([]byte(mustRun(t, nil, "check", "--json", store)), &results); err != nil {
				t.Fatal(err)
			}
			if len(results) != len(conformance.Cases()) {
				t.Fatalf("check --json reported %d cases, want %d", len(results), len(conformance.Cases()))
			}
			for _, r := range results {
				if r.Status == conformance.Fail {
					t.Errorf("%s: %s", r.ID, r.Reason)
				}
			}
		})
	}
}

func TestLsStatJSON(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, prefix := freshPrefix(t, b.store(t))
			src, files := writeTree(t)
			mustRun(t, nil, "cp", "-r", src, at(""))

			entries := func(args ...string) []lsEntry {
				var es []lsEntry
				sc := bufio.NewScanner(strings.NewReader(mustRun(t, nil, append([]string{"ls", "-json"}, args...)...)))
				for sc.Scan() {
					var e lsEntry
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						t.Fatalf("ls -json line %q: %v", sc.Text(), err)
					}
					es = append(es, e)
				}
				return es
			}
			// Delimited: three objects and one prefix, in byte order.
			es := entries(at(""))
			var got []string
			for _, e := range es {
				got = append(got, strings.TrimPrefix(e.Key, prefix))
				if e.URL != at(strings.TrimPrefix(e.Key, prefix)) {
					t.Errorf("ls -json: entry %q has URL %q, want %q", e.Key, e.URL, at(strings.TrimPrefix(e.Key, prefix)))
				}
			}
			if want := []string{"big.bin", "empty", "sub/"}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ls -json listed %q, want %q", got, want)
			}
			if !es[2].Prefix || es[2].Size != nil || es[0].Prefix || es[0].Size == nil || *es[0].Size != int64(len(files["big.bin"])) || es[0].ETag == "" || es[0].ModTime == nil {
				t.Errorf("ls -json entries: %+v", es)
			}
			// The URLs printed are object URLs that work as operands.
			if got := mustRun(t, nil, "cat", entries(at("sub/notes"))[0].URL); got != "hello, world\n" {
				t.Errorf("cat of ls's URL gave %q", got)
			}
			flat := entries("-r", at(""))
			if len(flat) != len(files) {
				t.Errorf("ls -r -json listed %d objects, want %d", len(flat), len(files))
			}

			var st statOut
			if err := json.Unmarshal([]byte(mustRun(t, nil, "stat", "-json", at("sub/deep/x.json"))), &st); err != nil {
				t.Fatal(err)
			}
			listed := flat[len(flat)-2] // sub/deep/x.json sorts before sub/notes.txt
			if st.Size != 7 || st.ContentType != "application/json" || st.ETag != listed.ETag || st.Key != listed.Key || st.URL != at("sub/deep/x.json") {
				t.Errorf("stat -json gave %+v; ls -r listed %+v", st, listed)
			}

			// rm -r removes the whole prefix.
			mustRun(t, nil, "rm", "-r", at("sub"))
			if es := entries("-r", at("")); len(es) != 2 {
				t.Errorf("after rm -r sub, ls -r lists %d objects, want 2", len(es))
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	obj := "file://" + filepath.ToSlash(dir) + "/missing"
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"cat", obj}, exitNotFound},
		{[]string{"stat", "-json", obj}, exitNotFound},
		{[]string{"cp", obj, dir}, exitNotFound},
		{[]string{"cp", filepath.Join(dir, "nofile"), "mem://x/k"}, exitNotFound},
		{[]string{"cp", "-r", "file://" + filepath.ToSlash(dir) + "/nothing/", filepath.Join(dir, "out")}, exitNotFound},
		{[]string{"rm", obj}, exitOK}, // Delete of a missing key succeeds
		{[]string{"cat", "nosuch://bucket/key"}, exitUsage},
		{[]string{"cat", "s3://bucket/key?bogus=1"}, exitUsage},
		{[]string{"cat", "mem://x/a%zzb"}, exitUsage},
		{[]string{"cat", "mem://x/key#frag"}, exitUsage},
		{[]string{"cat", "not-a-url"}, exitUsage},
		{[]string{"ls", "-nosuchflag", "mem://x/"}, exitUsage},
		{[]string{"ls"}, exitUsage},
		{[]string{"cp", "a", "b"}, exitUsage},
		{[]string{"cp", "mem://x/", dir}, exitUsage},
		{[]string{"rm", "mem://x/dir/"}, exitUsage},
		{[]string{"bench", "-n", "0", "mem://"}, exitUsage},
		{[]string{"stat", "mem://x/bad%00key"}, exitUsage},   // no backend addresses a NUL
		{[]string{"stat", "mem://x/bad//key"}, exitNotFound}, // a key S3 holds, not written
		{[]string{"cp", "-", "mem://x/bad//key"}, exitUsage}, // not portable: keys=native writes it
	} {
		r := objstoreCmd(t, nil, tc.args...)
		if r.code != tc.want {
			t.Errorf("objstore %q exited %d, want %d\n%s", tc.args, r.code, tc.want, r.stderr)
		}
		if r.code != 0 && (strings.Count(r.stderr, "\n") < 1 || !strings.HasPrefix(r.stderr, "objstore ") && !strings.HasPrefix(r.stderr, "flag provided") && !strings.HasPrefix(r.stderr, "usage")) {
			t.Errorf("objstore %q printed %q, want an error message", tc.args, r.stderr)
		}
	}
}

// withQuery adds name=value to the query of an object URL.
func withQuery(t *testing.T, raw, name, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestForeignKeys: keys that other tools write, which K1 would not
// create, are listed, read, copied and deleted by the command with the
// store's default URL (rule K3); keys=native writes them here, as
// "aws s3 cp" would. Object URLs carry them in their path: "a//b" as
// .../a//b, and a key with a leading "/" after the host's slash
// (s3://bucket//lead).
func TestForeignKeys(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := b.store(t)
			at, prefix := freshPrefix(t, store)
			native := func(key string) string { return withQuery(t, at(key), "keys", "native") }
			// Each backend holds some of these (MinIO refuses "a//b", Azure
			// "dots./b.txt", the file driver "a//b"), and refuses the others
			// with a usage error.
			var held []string
			for _, k := range []string{"dots./b.txt", "tail.", "a//b", "x/ctl\x01"} {
				r := objstoreCmd(t, []byte("foreign "+k), "cp", "-q", "-", native(k))
				switch r.code {
				case exitOK:
					held = append(held, k)
				case exitUsage:
					t.Logf("the backend does not hold %q: %s", k, r.stderr)
				default:
					t.Fatalf("cp - %s exited %d: %s", native(k), r.code, r.stderr)
				}
			}
			if len(held) == 0 {
				t.Fatal("the backend held none of the foreign keys")
			}
			// The default URL refuses to create them, and says how.
			if r := objstoreCmd(t, []byte("x"), "cp", "-", at(held[0])); r.code != exitUsage || !strings.Contains(r.stderr, "keys=native") {
				t.Errorf("cp - %s exited %d: %s; want a usage error pointing to keys=native", at(held[0]), r.code, r.stderr)
			}
			var listed []string
			sc := bufio.NewScanner(strings.NewReader(mustRun(t, nil, "ls", "-r", "-json", at(""))))
			for sc.Scan() {
				var e lsEntry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				listed = append(listed, strings.TrimPrefix(e.Key, prefix))
				// The URL ls prints reaches the object.
				if got := mustRun(t, nil, "cat", e.URL); got != "foreign "+strings.TrimPrefix(e.Key, prefix) {
					t.Errorf("cat %s printed %q", e.URL, got)
				}
			}
			if want := slices.Sorted(slices.Values(held)); !slices.Equal(listed, want) {
				t.Errorf("ls -r listed %q, want %q", listed, want)
			}
			dir := t.TempDir()
			for i, k := range held {
				want := "foreign " + k
				if got := mustRun(t, nil, "cat", at(k)); got != want {
					t.Errorf("cat %s printed %q, want %q", at(k), got, want)
				}
				var st statOut
				if err := json.Unmarshal([]byte(mustRun(t, nil, "stat", "-json", at(k))), &st); err != nil {
					t.Fatal(err)
				}
				if st.Key != prefix+k || st.Size != int64(len(want)) {
					t.Errorf("stat %s: %+v", at(k), st)
				}
				local := filepath.Join(dir, fmt.Sprint(i))
				mustRun(t, nil, "cp", "-q", at(k), local)
				if data, err := os.ReadFile(local); err != nil || string(data) != want {
					t.Errorf("cp %s to a file wrote %q, %v", at(k), data, err)
				}
				mustRun(t, nil, "cp", "-q", at(k), at("copied/"+fmt.Sprint(i)))
				if got := mustRun(t, nil, "cat", at("copied/"+fmt.Sprint(i))); got != want {
					t.Errorf("cp %s within the store copied %q", at(k), got)
				}
			}
			mustRun(t, nil, "rm", at(held[0]))
			if r := objstoreCmd(t, nil, "stat", at(held[0])); r.code != exitNotFound {
				t.Errorf("after rm, stat %s exited %d: %s", at(held[0]), r.code, r.stderr)
			}
			// rm -r gets out of every key it lists.
			mustRun(t, nil, "rm", "-r", at(""))
			if out := mustRun(t, nil, "ls", "-r", at("")); out != "" {
				t.Errorf("after rm -r, ls -r lists %q", out)
			}

			// A key with a leading "/", at the bucket's root.
			if b.name == "file" {
				return // a file path has no such key
			}
			u, err := url.Parse(store)
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "//" + prefix + "lead"
			lead := u.String()
			if r := objstoreCmd(t, []byte("lead"), "cp", "-q", "-", withQuery(t, lead, "keys", "native")); r.code != exitOK {
				t.Logf("the backend does not hold %q: %s", "/"+prefix+"lead", r.stderr)
				return
			}
			t.Cleanup(func() { objstoreCmd(t, nil, "rm", lead) })
			if got := mustRun(t, nil, "cat", lead); got != "lead" {
				t.Errorf("cat %s printed %q", lead, got)
			}
			if out := mustRun(t, nil, "ls", "-r", strings.TrimSuffix(lead, "lead")); !strings.Contains(out, "/"+prefix+"lead") {
				t.Errorf("ls -r %s printed %q", strings.TrimSuffix(lead, "lead"), out)
			}
			mustRun(t, nil, "rm", lead)
			if r := objstoreCmd(t, nil, "stat", lead); r.code != exitNotFound {
				t.Errorf("after rm, stat %s exited %d", lead, r.code)
			}
		})
	}
}

func TestBenchJSON(t *testing.T) {
	var results []benchResult
	out := mustRun(t, nil, "bench", "-json", "-n", "10", "-large", "1048576", "mem://bench")
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench -json: %v\n%s", err, out)
	}
	var ops []string
	for _, r := range results {
		ops = append(ops, r.Op)
		if r.Count < 1 || r.P99Ms < r.P50Ms || r.MiBPerSec <= 0 {
			t.Errorf("bench result %+v", r)
		}
	}
	if fmt.Sprint(ops) != "[put get stat put-large get-large]" {
		t.Errorf("bench reported %q", ops)
	}
}

func TestBenchCleansUp(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			at, _ := freshPrefix(t, b.store(t))
			mustRun(t, nil, "bench", "-n", "3", "-large", "100000", at(""))
			if out := mustRun(t, nil, "ls", "-r", at("")); out != "" {
				t.Errorf("bench left objects behind:\n%s", out)
			}
		})
	}
}

// TestConcurrentInProcess runs cp -r and rm -r, whose copies and deletes
// run concurrently, inside the test binary, so that -race sees them.
func TestConcurrentInProcess(t *testing.T) {
	src, files := writeTree(t)
	at, _ := freshPrefix(t, "file:///")
	inProcess := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errOut); code != 0 {
			t.Fatalf("objstore %q exited %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	inProcess("cp", "-r", "-j", "3", src, at("a"))
	inProcess("cp", "-r", "-j", "3", at("a"), "mem://concurrent/b")
	inProcess("cp", "-r", "-j", "3", "mem://concurrent/b/", at("c"))
	out := t.TempDir()
	inProcess("cp", "-r", "-j", "3", at("c"), out)
	checkTree(t, out, files)
	inProcess("rm", "-r", "-j", "3", at(""))
	inProcess("rm", "-r", "mem://concurrent/")
	if left := inProcess("ls", "-r", at("")) + inProcess("ls", "-r", "mem://concurrent/"); left != "" {
		t.Errorf("rm -r left objects behind:\n%s", left)
	}
}
