package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"text/tabwriter"
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
	results, err := conformance.Check(ctx, h, match, nil)
	if err != nil {
		fmt.Fprintf(stderr, "objstore check: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	} else {
		printTable(stdout, results)
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

func printTable(w io.Writer, results []conformance.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tCASE\tRESULT\tTIME\tREASON")
	counts := map[conformance.Status]int{}
	for _, r := range results {
		counts[r.Status]++
		reason := strings.Join(strings.Fields(r.Reason), " ")
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Rule, r.ID, r.Status, r.Elapsed.Round(time.Millisecond), reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d cases: %d pass, %d fail, %d unsupported\n",
		len(results), counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Unsupported])
}
