package azure_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// Open a store by URL. The account key comes from AZSTORE_PROD_KEY, named
// by credential=prod; the URL holds no secret.
func Example() {
	ctx := context.Background()
	s, err := objstore.Open(ctx, "azblob://backups/db?account=myaccount&credential=prod")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	a, err := s.Put(ctx, "2024/dump.sql", strings.NewReader("..."), &objstore.PutOptions{IfAbsent: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.ETag)
}

// Build the store around an azblob client, here authenticated with
// DefaultAzureCredential and sending its requests through objstore's
// pipeline.
func ExampleNew() {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		log.Fatal(err)
	}
	opts := &azure.Options{Prefix: "db/", Copy: azure.CopyStream}
	co, err := azure.NewClientOptions(opts)
	if err != nil {
		log.Fatal(err)
	}
	client, err := azblob.NewClient("https://myaccount.blob.core.windows.net/", cred, co)
	if err != nil {
		log.Fatal(err)
	}
	s, err := azure.New(client, "backups", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(s)
}

// Open with options the URL cannot carry, such as a shorter read timeout.
func ExampleOpen() {
	s, err := azure.Open(context.Background(), "azblob://backups?account=myaccount&credential=prod&copy=server", &azure.Options{
		ClientOptions: &objstore.ClientOptions{ReadTimeout: 10 * time.Second, Logger: slog.Default()},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
}
