package s3_test

import (
	"os"
	"testing"

	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestLogsRedacted runs the whole conformance suite with the pipeline
// logging at Debug and checks that no secret shows: not the secret key,
// not a signature, not a canary in a URL parameter or header.
// It runs on each S3 server: their error answers differ, and errors are
// logged too.
func TestLogsRedacted(t *testing.T) {
	testenv.EachS3(t, func(t *testing.T, _ testenv.S3Server, raw string) {
		logs := testenv.CaptureLogs(t)
		conformance.Run(t, conformance.Harness{URL: raw, RequireAll: true, LargePut: largePut, SDKError: sdkError})
		testenv.CheckNoSecrets(t, logs.String(), os.Getenv("AWS_SECRET_ACCESS_KEY"))
	})
}
