package s3_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/s3"
)

// An app that already holds an SDK client wraps it with New.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := s3.New(awss3.NewFromConfig(cfg), "my-bucket", &s3.Options{
		Prefix:      "app/",   // keys live under app/
		PartSize:    16 << 20, // multipart uploads in 16 MiB parts...
		Concurrency: 4,        // ...4 at once: at most 64 MiB of buffers
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	a, err := store.Put(ctx, "greeting.txt", strings.NewReader("hello"), &objstore.PutOptions{
		ContentType: "text/plain; charset=utf-8",
		IfAbsent:    true, // If-None-Match: *
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Key, a.Size)
}

// Most apps open a store by URL; credentials come from the default AWS
// chain, never from the URL.
func ExampleOpenURL() {
	ctx := context.Background()
	// With the driver imported, objstore.Open reaches OpenURL.
	store, err := objstore.Open(ctx, "s3://my-bucket/app?endpoint=http://127.0.0.1:9000&use_path_style=true")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for e, err := range store.List(ctx, &objstore.ListOptions{Delimiter: "/"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Key)
	}
}
