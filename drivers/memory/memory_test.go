package memory_test

import (
	"testing"

	"github.com/objstore-go/objstore/conformance"
	_ "github.com/objstore-go/objstore/drivers/memory"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		URL:              "mem://conformance",
		MissingBucketURL: "mem://conformance-missing?create=false",
		RequireAll:       true,
	})
}
