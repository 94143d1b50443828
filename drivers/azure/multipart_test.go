package azure_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// unsized hides Len and Seek: the driver sees a stream of unknown size.
type unsized struct{ io.Reader }

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

// committedBlocks returns the IDs of the blocks the blob at the store's
// key consists of.
func committedBlocks(t *testing.T, s *azure.Store, full string) []string {
	t.Helper()
	resp, err := s.ContainerClient().NewBlockBlobClient(full).GetBlockList(context.Background(), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatalf("GetBlockList: %v", err)
	}
	var ids []string
	for _, b := range resp.CommittedBlocks {
		ids = append(ids, *b.Name)
	}
	return ids
}

// TestBlockUploadAzurite uploads bodies of unknown size in small blocks
// and checks the bytes, the blocks committed, and that no more than
// Concurrency block buffers were held at once.
func TestBlockUploadAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx := context.Background()
	var mu sync.Mutex
	var maxLive []int
	defer azure.SetMaxLiveHook(func(n int) { mu.Lock(); maxLive = append(maxLive, n); mu.Unlock() })()

	const block = 16 << 10
	tests := []struct {
		size, conc, wantBlocks int
	}{
		{block + 1, 3, 2},         // just over one block
		{2 * block, 3, 2},         // exactly two blocks
		{40*block + 7, 3, 41},     // many blocks, a short last one
		{10*block + 1, 1, 11},     // one at a time
		{20 * block, 64, 20},      // more concurrency than blocks
		{block, 3, 0},             // exactly one block: a single Put Blob
		{block - 1, 3, 0},         // under a block: a single Put Blob
		{3 * smallBuffer, 3, 0},   // default block size: a single Put Blob
		{9*(1<<20) + 5, 0, 2},     // default block size: two blocks
		{1 << 20, 3, 64},          // 64 blocks of 16 KiB
		{0, 3, 0},                 // empty
		{smallBuffer + 1, 2, 0},   // past the first read, under the default block
		{smallBuffer - 1, 2, 0},   // within the first read
		{block*2 + 1, 2, 3},       // three blocks, two buffers
		{block*5 + block/2, 2, 6}, // six blocks, two buffers
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-bytes-conc-%d", tt.size, tt.conc), func(t *testing.T) {
			mu.Lock()
			maxLive = nil
			mu.Unlock()
			data := randomBytes(uint64(i), tt.size)
			key := fmt.Sprintf("k%d", i)
			opts := &objstore.PutOptions{PartSize: block, Concurrency: tt.conc, ContentType: "application/x-test", Metadata: map[string]string{"n": fmt.Sprint(tt.size)}}
			if tt.size == 3*smallBuffer || tt.size == 9*(1<<20)+5 || tt.size == smallBuffer+1 || tt.size == smallBuffer-1 {
				opts.PartSize = 0 // the default, 8 MiB
			}
			a, err := s.Put(ctx, key, unsized{bytes.NewReader(data)}, opts)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if a.Size != int64(tt.size) || a.ContentType != "application/x-test" || a.Metadata["n"] != fmt.Sprint(tt.size) {
				t.Errorf("Put returned %+v", a)
			}
			st, err := s.Stat(ctx, key)
			if err != nil || st.ETag != a.ETag || st.Size != a.Size || !st.ModTime.Equal(a.ModTime) || st.ContentType != a.ContentType {
				t.Errorf("Stat = %+v, %v; Put returned %+v", st, err, a)
			}
			got, _, err := objstore.ReadAll(ctx, s, key)
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("the object holds %d other bytes (%v)", len(got), err)
			}
			ids := committedBlocks(t, s, azure.FullKey(s, key))
			if tt.wantBlocks == 0 {
				if len(ids) != 0 {
					t.Errorf("a body within one block was staged as %d blocks; want one Put Blob", len(ids))
				}
				return
			}
			if len(ids) != tt.wantBlocks {
				t.Errorf("%d blocks committed, want %d", len(ids), tt.wantBlocks)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if len(id) != len(ids[0]) || seen[id] {
					t.Errorf("block IDs are not distinct and of one length: %q", ids)
					break
				}
				seen[id] = true
			}
			mu.Lock()
			defer mu.Unlock()
			conc := tt.conc
			if conc == 0 {
				conc = azure.DefaultConcurrency
			}
			if len(maxLive) != 1 || maxLive[0] > conc || maxLive[0] < 1 {
				t.Errorf("the upload held %v block buffers at most; the bound is Concurrency = %d", maxLive, conc)
			}
		})
	}
}

const smallBuffer = 64 << 10 // the driver's first read

// TestBlockLimitAzurite lowers the block limit and checks that a stream
// needing more blocks fails clearly and commits nothing. With 4 blocks,
// the block size doubles with every block to hold as much as it can: 1,
// 2, 4 and 8 KiB.
func TestBlockLimitAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx := context.Background()
	defer azure.SetBlockLimit(4)()
	const block = 1 << 10
	const fits = 15 * block
	opts := &objstore.PutOptions{PartSize: block, Concurrency: 2}

	// Exactly the limit works.
	data := randomBytes(1, fits)
	if _, err := s.Put(ctx, "fits", unsized{bytes.NewReader(data)}, opts); err != nil {
		t.Fatalf("a body of exactly 4 growing blocks: %v", err)
	}
	if got, _, err := objstore.ReadAll(ctx, s, "fits"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the object holds %d other bytes (%v)", len(got), err)
	}
	if ids := committedBlocks(t, s, azure.FullKey(s, "fits")); len(ids) != 4 {
		t.Errorf("%d blocks committed, want 4", len(ids))
	}
	// One byte more does not, and leaves nothing.
	_, err := s.Put(ctx, "too-big", unsized{bytes.NewReader(randomBytes(2, fits+1))}, opts)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "PartSize") {
		t.Errorf("a body of 4 blocks and a byte: got %v, want ErrInvalidArgument (as on S3) naming PartSize", err)
	}
	if _, err := s.Stat(ctx, "too-big"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("a failed upload left an object: %v", err)
	}
	// A body whose length is known is rejected before any request when no
	// block size could hold it.
	_, err = s.Put(ctx, "huge", hugeBody{}, nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("a body larger than a block blob can be: got %v, want ErrInvalidArgument, as on S3", err)
	}
}

// hugeBody claims to be larger than 50,000 blocks of 4000 MiB.
type hugeBody struct{}

func (hugeBody) Read([]byte) (int, error) { return 0, errors.New("hugeBody must not be read") }
func (hugeBody) Len() int                 { return 50_000*4000<<20 + 1 }

// TestLargeRacesAzurite races staged uploads to one key. Azure discards a
// blob's uncommitted blocks when another upload commits, so a loser's Put
// Block List can fail with InvalidBlockList; with IfAbsent that must still
// be ErrExists, and exactly one racer wins.
func TestLargeRacesAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx := context.Background()
	const n, size = 4, 200 << 10
	opts := objstore.PutOptions{PartSize: 32 << 10, Concurrency: 2}

	t.Run("IfAbsent", func(t *testing.T) {
		errs := make([]error, n)
		attrs := make([]objstore.Attrs, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				o := opts
				o.IfAbsent = true
				attrs[i], errs[i] = s.Put(ctx, "absent", unsized{bytes.NewReader(randomBytes(uint64(i), size))}, &o)
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("racers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, objstore.ErrExists):
				t.Errorf("racer %d: got %v, want ErrExists", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no racer won")
		}
		got, a, err := objstore.ReadAll(ctx, s, "absent")
		if err != nil || !bytes.Equal(got, randomBytes(uint64(winner), size)) || a.ETag != attrs[winner].ETag {
			t.Errorf("the object is not the winner's (%v)", err)
		}
	})
	t.Run("unconditional", func(t *testing.T) {
		errs := make([]error, n)
		attrs := make([]objstore.Attrs, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				attrs[i], errs[i] = s.Put(ctx, "racy", unsized{bytes.NewReader(randomBytes(uint64(10+i), size))}, &opts)
			})
		}
		wg.Wait()
		_, st, err := objstore.ReadAll(ctx, s, "racy")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for i, err := range errs {
			if err != nil {
				t.Logf("racer %d lost: %v", i, err)
				continue
			}
			if attrs[i].ETag == st.ETag {
				found = true
				got, _, _ := objstore.ReadAll(ctx, s, "racy")
				if !bytes.Equal(got, randomBytes(uint64(10+i), size)) {
					t.Errorf("the object has racer %d's ETag but not its bytes", i)
				}
			}
		}
		if !found {
			t.Errorf("the object's ETag %s is no successful racer's", st.ETag)
		}
	})
}

// TestCancelBlockUploadAzurite cancels a staged upload midway: the error
// is context.Canceled and nothing is committed.
func TestCancelBlockUploadAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := &cancelAfter{r: bytes.NewReader(randomBytes(3, 1<<20)), n: 300 << 10, cancel: cancel}
	_, err := s.Put(ctx, "k", body, &objstore.PutOptions{PartSize: 64 << 10, Concurrency: 3})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if _, err := s.Stat(context.Background(), "k"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("a cancelled upload left an object: %v", err)
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}
