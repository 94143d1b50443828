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
func TestLogsRedacted(t *testing.T) {
	raw := testenv.URL(t, urlVar)
	logs := testenv.CaptureLogs(t)
	conformance.Run(t, conformance.Harness{URL: raw, RequireAll: true, LargePut: largePut, SDKError: sdkError})
	testenv.CheckNoSecrets(t, logs.String(), os.Getenv("AWS_SECRET_ACCESS_KEY"))
}
