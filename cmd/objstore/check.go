package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	_ "github.com/objstore-go/objstore/drivers/azure"
	_ "github.com/objstore-go/objstore/drivers/file"
	_ "github.com/objstore-go/objstore/drivers/memory"
	_ "github.com/objstore-go/objstore/drivers/s3"
)

const checkAbout = `Runs the conformance suite against the store at URL, under a random key
prefix that is deleted afterwards. mem:// checks a fresh in-memory store.
Each case's row is printed as it finishes. If the store refuses the
credentials, check says so in one line and runs nothing.`

func check(ctx context.Context, args []string, e *env) int {
	stdout, stderr := e.stdout, e.stderr
	fs := newFlags("check", "[--json] [--run REGEXP] [--timeout D] URL", checkAbout, e)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	runRE := fs.String("run", "", "run only the cases whose ID matches this regular expression, e.g. '^P4/'")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound on each case")
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	var match func(string) bool
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			fmt.Fprintf(stderr, "objstore check: --run: %v\n", err)
			return 2
		}
		match = re.MatchString
	}
	h, err := harnessFor(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "objstore check: %v\n", err)
		return 2
	}
	h.CaseTimeout = *timeout
	if err := preflight(ctx, h.URL); err != nil {
		return fail(stderr, "check", err)
	}
	var row func(conformance.Result)
	if !*asJSON {
		row = printHeader(stdout)
	}
	ran := 0
	results, err := conformance.Check(ctx, h, match, func(r conformance.Result) {
		if interrupted(ctx) {
			return // failed by the interrupt, not by the store
		}
		ran++
		if row != nil {
			row(r)
		}
	})
	if interrupted(ctx) {
		return failInterrupted(stderr, "check", fmt.Sprintf("%d cases ran; the suite's objects were deleted", ran))
	}
	if err != nil {
		fmt.Fprintf(stderr, "objstore check: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	} else {
		printSummary(stdout, results)
	}
	for _, r := range results {
		if r.Status == conformance.Fail {
			return 1
		}
	}
	return 0
}

// harnessFor describes the store at rawURL to the suite. The suite makes a
// missing bucket by changing the URL's host, which suits s3 and azblob;
// mem and file spell it differently. And mem:// alone would open a fresh
// store on every call, so it becomes one fresh named store.
func harnessFor(rawURL string) (conformance.Harness, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL; let Open say it without secrets.
		_, err = objstore.Open(context.Background(), rawURL)
		return conformance.Harness{}, err
	}
	h := conformance.Harness{URL: rawURL}
	switch u.Scheme {
	case "mem":
		if u.Host == "" {
			u.Host = "check-" + randomHex()
			h.URL = u.String()
		}
		h.MissingBucketURL = "mem://objstore-missing-" + randomHex() + "?create=false"
	case "file":
		// Each case writes under its own new prefix, a directory that does
		// not exist yet: the store must create it.
		if q := u.Query(); !q.Has("create") {
			q.Set("create", "true")
			u.RawQuery = q.Encode()
			h.URL = u.String()
		}
		h.MissingBucketURL = (&url.URL{Scheme: "file", Path: path.Join(u.Path, "objstore-missing-"+randomHex())}).String()
	}
	return h, nil
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// preflight stops check before the suite when the store refuses the
// credentials, which would otherwise fail every case: one Stat of a key
// that does not exist, which a store that accepts them answers with
// ErrNotFound.
func preflight(ctx context.Context, rawURL string) error {
	st, err := objstore.Open(ctx, rawURL)
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = st.Stat(ctx, "objstore-check-preflight-"+randomHex())
	if errors.Is(err, objstore.ErrUnauthenticated) || errors.Is(err, objstore.ErrPermission) {
		return err
	}
	return nil
}

// printHeader prints the table's header and returns the function that
// prints one row, as each case finishes. The columns are as wide as the
// longest rule and case ID, so that rows need not wait for each other.
func printHeader(w io.Writer) func(conformance.Result) {
	idWidth := len("CASE")
	for _, id := range conformance.Cases() {
		idWidth = max(idWidth, len(id))
	}
	format := fmt.Sprintf("%%-6s  %%-%ds  %%-11s  %%8s  %%s\n", idWidth)
	fmt.Fprintf(w, format, "RULE", "CASE", "RESULT", "TIME", "REASON")
	return func(r conformance.Result) {
		reason := strings.Join(strings.Fields(r.Reason), " ")
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
		fmt.Fprintf(w, format, r.Rule, r.ID, r.Status, r.Elapsed.Round(time.Millisecond), reason)
	}
}

func printSummary(w io.Writer, results []conformance.Result) {
	counts := map[conformance.Status]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	fmt.Fprintf(w, "\n%d cases: %d pass, %d fail, %d unsupported\n",
		len(results), counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Unsupported])
}
