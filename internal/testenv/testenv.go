// Package testenv gives tests access to the backends started by `make test`
// (scripts/test.sh): MinIO and versitygw for S3, Azurite for Azure Blob.
//
// The script exports, among others:
//
//	OBJSTORE_TEST_S3_URL             MinIO: s3://objstore-test?endpoint=...&region=us-east-1&use_path_style=true
//	OBJSTORE_TEST_VERSITYGW_URL      versitygw: s3://objstore-test?endpoint=...&region=us-east-1&use_path_style=true
//	OBJSTORE_TEST_AZURE_URL          azblob://objstore-test?endpoint=...&account=devstoreaccount1&credential=AZURITE
//	OBJSTORE_TEST_MINIO_ENDPOINT     plain http endpoint of MinIO
//	OBJSTORE_TEST_VERSITYGW_ENDPOINT plain http endpoint of versitygw
//	OBJSTORE_TEST_AZURITE_ENDPOINT   plain http endpoint of Azurite, including the account path
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//	                                 the root keys of both S3 servers, which
//	                                 the script starts with the same pair
//
// S3Servers lists the S3 servers by their variables; S3 tests run once per
// server through it, as subtests named after the server.
//
// A plain `go test ./...` without those variables skips the backend tests;
// under CI=true it fails them instead, so CI cannot silently test nothing.
package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// S3Server is one of the S3 servers `make test` starts.
type S3Server struct {
	// Name names the server's subtests: "minio", "versitygw".
	Name string
	// URLVar is the variable that holds its store URL.
	URLVar string
	// EndpointVar is the variable that holds its plain http endpoint.
	EndpointVar string
}

// S3Servers are the S3 servers the S3 tests run against, MinIO first.
var S3Servers = []S3Server{
	{Name: "minio", URLVar: "OBJSTORE_TEST_S3_URL", EndpointVar: "OBJSTORE_TEST_MINIO_ENDPOINT"},
	{Name: "versitygw", URLVar: "OBJSTORE_TEST_VERSITYGW_URL", EndpointVar: "OBJSTORE_TEST_VERSITYGW_ENDPOINT"},
}

// EachS3 runs f as a subtest of t for each of S3Servers, named after the
// server, with the server's store URL. A server whose variable is not set
// is skipped, or failed under CI=true, as URL does.
func EachS3(t *testing.T, f func(t *testing.T, srv S3Server, url string)) {
	t.Helper()
	for _, srv := range S3Servers {
		t.Run(srv.Name, func(t *testing.T) {
			f(t, srv, URL(t, srv.URLVar))
		})
	}
}

// URL returns the value of the environment variable name (e.g. "OBJSTORE_TEST_S3_URL").
// When it is empty: under CI=true the test fails (t.Fatalf) saying the backend is missing and that `make test` sets it;
// otherwise the test is skipped with a message that names the variable to set and says `make test` starts the server and sets it.
func URL(t testing.TB, name string) string {
	t.Helper()
	url, act, msg := decide(os.Getenv, name)
	switch act {
	case actionFail:
		t.Fatal(msg)
	case actionSkip:
		t.Skip(msg)
	}
	return url
}

// action is what URL does with the test.
type action int

const (
	actionUse  action = iota // the variable is set: use its value
	actionSkip               // not set, not in CI: skip the test
	actionFail               // not set, in CI: fail the test
)

func (a action) String() string {
	switch a {
	case actionUse:
		return "use"
	case actionSkip:
		return "skip"
	case actionFail:
		return "fail"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// decide is URL's logic with the environment injected. A value made only of
// white space counts as empty. CI counts as set when it parses as a true
// boolean ("true", "1", "TRUE", ...), which is what CI systems export.
func decide(getenv func(string) string, name string) (url string, act action, msg string) {
	url = strings.TrimSpace(getenv(name))
	if url != "" {
		return url, actionUse, ""
	}
	if inCI(getenv) {
		return "", actionFail, fmt.Sprintf(
			"%s is not set but CI=true: the test backend is missing. "+
				"`make test` (scripts/test.sh) starts the server and sets %s; run the tests through it.",
			name, name)
	}
	return "", actionSkip, fmt.Sprintf(
		"%s is not set; skipping. Set %s to run this test, "+
			"or run `make test`, which starts the server and sets it.",
		name, name)
}

func inCI(getenv func(string) string) bool {
	ci, err := strconv.ParseBool(strings.TrimSpace(getenv("CI")))
	return err == nil && ci
}
