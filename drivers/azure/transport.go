package azure

import (
	"errors"

	"github.com/objstore-go/objstore/internal/pipeline"
)

// ErrReadTimeout is the error a response body returns when no byte arrived
// for the pipeline's read timeout (ClientOptions.ReadTimeout, 30 s by
// default). It matches os.ErrDeadlineExceeded with errors.Is, and is a
// net.Error whose Timeout method reports true.
var ErrReadTimeout = pipeline.ErrReadTimeout

var errClosed = errors.New("the store is closed")
