// Package ctxio holds the one context-aware reader the drivers share.
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
