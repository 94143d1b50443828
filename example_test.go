package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/objstore-go/objstore"
	_ "github.com/objstore-go/objstore/drivers/memory"
)

func ExampleOpen() {
	ctx := context.Background()
	s, err := objstore.Open(ctx, "mem://example/app")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	if _, err := s.Put(ctx, "greeting.txt", strings.NewReader("hello"), &objstore.PutOptions{ContentType: "text/plain"}); err != nil {
		fmt.Println(err)
		return
	}
	data, attrs, err := objstore.ReadAll(ctx, s, "greeting.txt")
	fmt.Println(string(data), attrs.ContentType, err)

	_, err = s.Stat(ctx, "missing.txt")
	fmt.Println(errors.Is(err, objstore.ErrNotFound))
	// Output:
	// hello text/plain <nil>
	// true
}

func ExamplePutIfAbsent() {
	ctx := context.Background()
	s, _ := objstore.Open(ctx, "mem://")
	for _, worker := range []string{"worker-1", "worker-2"} {
		created, err := objstore.PutIfAbsent(ctx, s, "jobs/42/lock", strings.NewReader(worker), nil)
		fmt.Println(worker, created, err)
	}
	// Output:
	// worker-1 true <nil>
	// worker-2 false <nil>
}

func ExampleOpen_unknownParameter() {
	_, err := objstore.Open(context.Background(), "mem://name?region=eu")
	fmt.Println(err)
	// Output:
	// mem open: invalid argument: unknown URL parameter "region"; mem accepts: create, keys
}

// A Put reports its progress: first (0, total), then at most a call per
// MiB, and last (total, total) once the object is stored. total is -1
// while the size is unknown.
func ExamplePutOptions_progress() {
	ctx := context.Background()
	s, _ := objstore.Open(ctx, "mem://")
	body := strings.NewReader(strings.Repeat("x", 3<<20)) // Len tells the size
	_, err := s.Put(ctx, "big", body, &objstore.PutOptions{
		Progress: func(done, total int64) { fmt.Printf("%d of %d\n", done, total) },
	})
	fmt.Println(err)
	// Output:
	// 0 of 3145728
	// 3145728 of 3145728
	// <nil>
}
