package pipeline

import (
	"context"
	"net/http"
	"sync/atomic"
)

// Answers tells a driver whether a request it sent may have been carried
// out by the server without the client learning it. A driver tracks the
// request that commits a write (S3's CompleteMultipartUpload, Azure's Put
// Block List, a conditional single-request put): when the pipeline resent
// it after an attempt whose answer was lost, an error answer to the resend
// may be the server meeting that attempt's own write (a 412 for
// If-None-Match: *, S3's NoSuchUpload), and the driver has to look at the
// object before it reports a failure.
type Answers struct{ lost atomic.Bool }

type answersKey struct{}

// TrackAnswers returns a context whose requests report to the returned
// Answers.
func TrackAnswers(ctx context.Context) (context.Context, *Answers) {
	a := &Answers{}
	return context.WithValue(ctx, answersKey{}, a), a
}

// Lost reports whether an attempt of a tracked request ended without an
// answer that says what the server did: the connection failed or timed
// out, the caller cancelled, a response was cut short, or the status was a
// 5xx other than 503 (a 500 or a gateway's 502 or 504 may come after the
// server carried the request out; a 503 says that it did not). The last
// attempt counts too: its failure is then the caller's error.
func (a *Answers) Lost() bool { return a != nil && a.lost.Load() }

// record notes the outcome of one attempt of a request sent with ctx.
func record(ctx context.Context, resp *http.Response, err error) {
	a, _ := ctx.Value(answersKey{}).(*Answers)
	if a == nil {
		return
	}
	if err != nil || resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		a.lost.Store(true)
	}
}
