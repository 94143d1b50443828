package parts

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"

	"github.com/objstore-go/objstore"
)

// LostAnswer is the error of a write that an attempt whose answer was lost
// may have stored, when what the key holds now does not tell whether it
// did (see docs/SEMANTICS.md, P10). why says what the driver found. It has
// no class: not ErrNotFound, ErrExists or ErrPrecondition, which would say
// that nothing was written. cause is the error the last attempt got, as
// the SDK returned it, so that no class comes with it; when ctx is done,
// its error is reachable too.
func LostAnswer(ctx context.Context, driver, op, key, why string, cause error) *objstore.Error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(cause, cerr) {
		cause = fmt.Errorf("%w: %w", cerr, cause)
	}
	return &objstore.Error{Driver: driver, Op: op, Key: key,
		Err:  fmt.Errorf("an answer was lost, and the write may have been stored: %s: %w", why, cause),
		Hint: "Stat the key to see what it holds, and write again if it is not what this call wrote"}
}

// MD5 returns the MD5 of the size bytes of body from its start, which a
// driver compares with what the key holds after a lost answer.
func MD5(body io.ReadSeeker, size int64) ([]byte, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := md5.New()
	if _, err := io.CopyN(h, body, size); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
