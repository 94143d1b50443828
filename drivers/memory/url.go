package memory

import (
	"context"
	"net/url"
	"sync"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// Scheme is the URL scheme this package registers.
const Scheme = "mem"

func init() { objstore.Register(Scheme, open) }

var (
	namedMu sync.Mutex
	named   = map[string]*bucket{}
)

// open serves mem://NAME/prefix?create=false&keys=native. A NAME is one
// shared store within the process (rule U2); no NAME is a fresh private
// store. create=false opens NAME only if it already exists; otherwise
// every operation fails with ErrBucketNotFound, the way a missing S3
// bucket does. keys=native lets Put and Copy create any key S3 could hold
// (rule K4), such as the keys other tools write: a store opened without
// it reads them all the same (rule K3).
func open(_ context.Context, u *url.URL) (objstore.Store, error) {
	q, err := driver.Query(u, []string{"create", driver.KeysParam},
		"the memory driver needs no credentials")
	if err != nil {
		return nil, err
	}
	create := true
	if v, ok := q["create"]; ok {
		if create, err = driver.ParseBool("create", v); err != nil {
			return nil, err
		}
	}
	native := false
	if v, ok := q[driver.KeysParam]; ok {
		m, err := driver.ParseKeyMode(v)
		if err != nil {
			return nil, err
		}
		native = m == objstore.KeysNative
	}
	b := newBucket()
	if u.Host != "" {
		namedMu.Lock()
		defer namedMu.Unlock()
		if b = named[u.Host]; b == nil && create {
			b = newBucket()
			named[u.Host] = b
		}
	}
	var d driver.Bucket = &store{b: b, native: native}
	return objstore.NewStore(d, u.Path)
}
