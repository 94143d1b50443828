package objstore

import (
	"context"
	"errors"
	"io"
)

// PutIfAbsent writes body to key only if key does not exist. It reports
// created == false, with a nil error, when the key already exists: losing a
// race is an answer, not a failure. opts.IfAbsent is implied; opts.IfMatch
// must be empty.
func PutIfAbsent(ctx context.Context, s Store, key string, body io.Reader, opts *PutOptions) (created bool, err error) {
	var o PutOptions
	if opts != nil {
		o = *opts
	}
	o.IfAbsent = true
	_, err = s.Put(ctx, key, body, &o)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrExists):
		return false, nil
	}
	return false, err
}

// ReadAll reads the whole object at key and returns its bytes with its
// attributes. A missing key gives ErrNotFound.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, Attrs, error) {
	r, err := s.Get(ctx, key, nil)
	if err != nil {
		return nil, Attrs{}, err
	}
	defer r.Close()
	// The Reader serves exactly Length bytes and reports a short body, so
	// one exact allocation is enough.
	data := make([]byte, r.Length)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, Attrs{}, err
	}
	return data, r.Attrs, nil
}
