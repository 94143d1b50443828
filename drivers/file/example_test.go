package file_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/file"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "objects")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The same store as objstore.Open(ctx, "file://"+dir).
	s, err := file.New(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	if _, err := s.Put(ctx, "notes/hello.txt", strings.NewReader("hello"), &objstore.PutOptions{ContentType: "text/plain"}); err != nil {
		log.Fatal(err)
	}
	data, attrs, err := objstore.ReadAll(ctx, s, "notes/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data), attrs.ContentType)

	// The object is a plain file.
	b, _ := os.ReadFile(dir + "/notes/hello.txt")
	fmt.Println(string(b))
	// Output:
	// hello text/plain
	// hello
}
