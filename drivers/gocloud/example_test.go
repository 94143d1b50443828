package gocloud_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob/memblob"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/gocloud"
	"github.com/objstore-go/objstore/drivers/memory"
)

// Wrap serves a gocloud bucket the app already has as an objstore.Store.
func ExampleWrap() {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	s, err := gocloud.Wrap(b, &gocloud.Options{Prefix: "app/", AtomicIfNotExist: true})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, "hello.txt", strings.NewReader("hi"), &objstore.PutOptions{ContentType: "text/plain"}); err != nil {
		panic(err)
	}
	data, _ := b.ReadAll(ctx, "app/hello.txt")
	fmt.Println(string(data))
	// Output: hi
}

// NewBucket serves an objstore.Store to code written for gocloud.dev/blob.
func ExampleNewBucket() {
	ctx := context.Background()
	b := gocloud.NewBucket(memory.New())
	defer b.Close()
	if err := b.WriteAll(ctx, "k", []byte("from gocloud"), nil); err != nil {
		panic(err)
	}
	r, err := b.NewReader(ctx, "k", nil)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	data, _ := io.ReadAll(r)
	fmt.Println(string(data))
	// Output: from gocloud
}
