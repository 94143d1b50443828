// Package ctxio holds the context-aware body readers the drivers share.
package ctxio

import (
	"context"
	"io"
)

// Reader fails every Read once Ctx is done, so that a body that knows
// nothing of the context still stops an upload, or an in-memory read,
// promptly.
type Reader struct {
	Ctx context.Context
	R   io.Reader
}

func (c *Reader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

// ReadSeeker is a Reader that seeks as R does: a request body that the
// SDK can still rewind, and hash before it sends it. The AWS SDK reads a
// whole body to sign it over plain http, without looking at the context;
// for a 5 MiB part on a busy machine that took up to 600 ms after a
// cancel. ReadSeeker stops it at the next Read.
type ReadSeeker struct {
	Ctx context.Context
	R   io.ReadSeeker
}

func (c *ReadSeeker) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

func (c *ReadSeeker) Seek(offset int64, whence int) (int64, error) {
	return c.R.Seek(offset, whence)
}
