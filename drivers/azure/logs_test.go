package azure_test

import (
	"os"
	"testing"

	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestLogsRedacted runs the whole conformance suite with the pipeline
// logging at Debug and checks that no secret shows: not the account key,
// not a SharedKey signature, not the SAS a server-side copy signs for its
// source.
func TestLogsRedacted(t *testing.T) {
	raw := testenv.URL(t, azureURLVar)
	logs := testenv.CaptureLogs(t)
	conformance.Run(t, harness(withParams(t, raw, "copy", "server")))
	testenv.CheckNoSecrets(t, logs.String(), os.Getenv("AZSTORE_AZURITE_KEY"))
}
