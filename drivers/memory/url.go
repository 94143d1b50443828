package memory

import (
	"context"
	"net/url"
	"sync"

	"github.com/objstore-go/objstore"
)

// Scheme is the URL scheme this package registers.
const Scheme = "mem"

func init() { objstore.Register(Scheme, open) }

var (
	namedMu sync.Mutex
	named   = map[string]*bucket{}
)

// open serves mem://NAME/prefix?create=false. A NAME is one shared store
// within the process (rule U2); no NAME is a fresh private store.
// create=false opens NAME only if it already exists; otherwise every
// operation fails with ErrBucketNotFound, the way a missing S3 bucket does.
func open(_ context.Context, u *url.URL) (objstore.Store, error) {
	q, err := objstore.Query(Scheme, u, []string{"create"},
		"the memory driver needs no credentials")
	if err != nil {
		return nil, err
	}
	create := true
	if v, ok := q["create"]; ok {
		if create, err = objstore.ParseBool(Scheme, "create", v); err != nil {
			return nil, err
		}
	}
	ns, err := objstore.NewNamespace(Scheme, u)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return newStore(newBucket(), ns), nil
	}
	namedMu.Lock()
	defer namedMu.Unlock()
	b := named[u.Host]
	if b == nil {
		if !create {
			return newStore(nil, ns), nil
		}
		b = newBucket()
		named[u.Host] = b
	}
	return newStore(b, ns), nil
}
