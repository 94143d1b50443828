package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/objstore-go/objstore"
)

// isServiceURL reports whether t names a whole service, a store URL
// without its bucket or container, such as s3://?endpoint=... or a named
// store without one: ls then lists the buckets.
func isServiceURL(t target) bool {
	u, err := url.Parse(t.store)
	return err == nil && u.Host == "" && u.Scheme != "mem" && u.Scheme != "file" && t.key == ""
}

// bucketEntry is one line of ls -json of a service.
type bucketEntry struct {
	Bucket string `json:"bucket"`
	URL    string `json:"url"`
}

// listBuckets lists the buckets or containers of the service t names,
// through the driver's ListBuckets (s3) or ListContainers (azblob), so
// with its credentials, HTTP pipeline and error classes.
func listBuckets(ctx context.Context, t target, e *env, asJSON bool) error {
	u, err := url.Parse(t.store)
	if err != nil {
		return err
	}
	if u.Scheme != "azblob" && u.Scheme != "s3" {
		return &objstore.Error{Driver: u.Scheme, Op: "list buckets", Kind: objstore.ErrUnsupported,
			Err:  errors.New("this command cannot list the buckets of this store"),
			Hint: "name the bucket in the URL, as " + u.Scheme + "://bucket/"}
	}
	v := *u
	v.Host = "objstore-list" // Open wants a bucket; the client is the account's
	st, err := objstore.Open(ctx, v.String())
	if err != nil {
		return err
	}
	defer st.Close()
	var names []string
	switch c := st.(type) {
	case interface {
		ListBuckets(context.Context) ([]string, error)
	}:
		names, err = c.ListBuckets(ctx)
	case interface {
		ListContainers(context.Context) ([]string, error)
	}:
		names, err = c.ListContainers(ctx)
	default:
		return fmt.Errorf("the %s driver cannot list its buckets", u.Scheme)
	}
	enc := json.NewEncoder(e.stdout)
	for _, name := range names {
		v.Host = name
		if asJSON {
			enc.Encode(bucketEntry{Bucket: name, URL: v.String()})
		} else {
			fmt.Fprintln(e.stdout, name+"/")
		}
	}
	return err
}
