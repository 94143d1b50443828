package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/objstore-go/objstore/driver"
)

// OpenFunc opens a Store from a URL whose scheme it was registered for.
type OpenFunc func(ctx context.Context, u *url.URL) (Store, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
)

// Register makes a driver available to Open under scheme. Drivers call it
// from their package's init function. It panics if scheme is empty, if open
// is nil, or if scheme is already registered: all are programming errors.
func Register(scheme string, open OpenFunc) {
	if scheme == "" {
		panic("objstore: Register with an empty scheme")
	}
	if open == nil {
		panic("objstore: Register of scheme " + scheme + " with a nil OpenFunc")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("objstore: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open opens the Store that rawURL names, with the driver registered for
// its scheme. An unknown scheme gets an error that lists the registered
// ones; a malformed URL, an unknown query parameter or a secret in the URL
// gets ErrInvalidArgument (rules U1 and U4).
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, which may hold a secret: say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Driver: "objstore", Op: "open", Kind: ErrInvalidArgument,
			Err: fmt.Errorf("malformed URL: %w", err), Hint: "a store URL looks like s3://bucket/prefix?region=us-east-1"}
	}
	if u.Scheme == "" {
		return nil, &Error{Driver: "objstore", Op: "open", Kind: ErrInvalidArgument,
			Err: errors.New("the URL has no scheme"), Hint: "registered schemes: " + strings.Join(Schemes(), ", ")}
	}
	registryMu.RLock()
	open := registry[u.Scheme]
	registryMu.RUnlock()
	if open == nil {
		return nil, &Error{Driver: "objstore", Op: "open", Kind: ErrInvalidArgument,
			Err:  fmt.Errorf("no driver is registered for scheme %q", u.Scheme),
			Hint: "registered schemes: " + strings.Join(Schemes(), ", ") + "; import a driver package, for example _ \"github.com/objstore-go/objstore/drivers/s3\""}
	}
	if err := driver.CheckURL(u); err != nil {
		return nil, wrapError(u.Scheme, "open", "", err)
	}
	s, err := open(ctx, u)
	if err != nil {
		// A driver's OpenFunc that returns its own nil pointer type puts a
		// non-nil Store in the interface; a caller checking s != nil would
		// then call methods on nil. A failed Open is always a nil Store.
		return nil, wrapError(u.Scheme, "open", "", err)
	}
	if isNilStore(s) {
		return nil, &Error{Driver: u.Scheme, Op: "open",
			Err: errors.New("the driver returned no Store and no error"), Hint: "this is a bug in the driver registered for " + u.Scheme}
	}
	return s, nil
}

// isNilStore reports whether s is nil or holds a nil pointer, map, func,
// channel or slice.
func isNilStore(s Store) bool {
	if s == nil {
		return true
	}
	switch v := reflect.ValueOf(s); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}
