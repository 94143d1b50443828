package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
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

// listBuckets lists the buckets or containers of the service t names.
// Azure's containers are listed through the azblob driver's client, so
// with its credentials and HTTP pipeline. The s3 driver has no such
// escape hatch yet: an s3:// service URL gets an error that says so.
func listBuckets(ctx context.Context, t target, e *env, asJSON bool) error {
	u, err := url.Parse(t.store)
	if err != nil {
		return err
	}
	if u.Scheme != "azblob" {
		return &objstore.Error{Driver: u.Scheme, Op: "list buckets", Kind: objstore.ErrUnsupported,
			Err:  errors.New("this command cannot list the buckets of this store yet"),
			Hint: "name the bucket in the URL, as " + u.Scheme + "://bucket/; aws s3 ls or mc ls list buckets"}
	}
	v := *u
	v.Host = "objstore-list" // Open wants a container; the client is the account's
	st, err := objstore.Open(ctx, v.String())
	if err != nil {
		return err
	}
	defer st.Close()
	c, ok := st.(interface{ Client() *azblob.Client })
	if !ok {
		return fmt.Errorf("the azblob driver does not expose its client")
	}
	enc := json.NewEncoder(e.stdout)
	pager := c.Client().NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return &objstore.Error{Driver: "azblob", Op: "list containers", Err: err}
		}
		for _, item := range page.ContainerItems {
			if item.Name == nil {
				continue
			}
			v.Host = *item.Name
			if asJSON {
				enc.Encode(bucketEntry{Bucket: *item.Name, URL: v.String()})
			} else {
				fmt.Fprintln(e.stdout, *item.Name+"/")
			}
		}
	}
	return nil
}
