package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

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
