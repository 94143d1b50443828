package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/objstore-go/objstore"
)

// X1: every call on a cancelled context fails with context.Canceled, and
// leaves no goroutines behind.
func caseCancelled(c *C) {
	c.put("k", []byte("x"), nil)
	ctx, cancel := context.WithCancel(c.ctx)
	cancel()
	calls := map[string]func() error{
		"Stat": func() error { _, err := c.s.Stat(ctx, "k"); return err },
		"Get": func() error {
			r, err := c.s.Get(ctx, "k", nil)
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			return err
		},
		"Put":    func() error { _, err := c.s.Put(ctx, "k2", strings.NewReader("x"), nil); return err },
		"Delete": func() error { return c.s.Delete(ctx, "k") },
		"Copy":   func() error { _, err := c.s.Copy(ctx, "k3", "k", nil); return err },
		"List": func() error {
			for _, err := range c.s.List(ctx, nil) {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	before := runtime.NumGoroutine()
	for range 10 {
		for name, call := range calls {
			c.wantErr(call(), context.Canceled, name+" on a cancelled context")
		}
	}
	c.content("k", []byte("x"), "")
	c.missing("k2")
	c.missing("k3")
	c.noLeak(before, 5)
}

// noLeak waits, within a bound, for the goroutine count to come back to
// before+slack. Idle HTTP connections account for the slack.
func (c *C) noLeak(before, slack int) {
	c.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before+slack {
			return
		}
		if time.Now().After(deadline) {
			c.Errorf("%d goroutines before, %d after: a call leaks goroutines", before, now)
			return
		}
		runtime.Gosched()
		time.Sleep(20 * time.Millisecond)
	}
}

// X1: cancelling the context stops a Reader midway.
func caseCancelMidRead(c *C) {
	const n = 8 << 20
	c.put("k", gen(5, n), nil)
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	r, err := c.s.Get(ctx, "k", nil)
	c.ok(err, "Get")
	defer r.Close()
	buf := make([]byte, 1024)
	_, err = io.ReadFull(r, buf)
	c.ok(err, "reading the first bytes")
	cancel()
	got, err := io.Copy(io.Discard, r)
	if err == nil {
		c.Errorf("reading after cancel served the remaining %d bytes with no error", got)
	}
}

// X2: a Store is safe for concurrent use.
func caseConcurrent(c *C) {
	var wg sync.WaitGroup
	for g := range c.r.h.Racers {
		wg.Go(func() {
			for i := range 10 {
				key := fmt.Sprintf("g%d/k%d", g, i)
				data := gen(uint64(g*100+i), 1000+int64(i))
				a, err := c.s.Put(c.ctx, key, bytes.NewReader(data), nil)
				if err != nil {
					c.Errorf("Put(%q): %v", key, err)
					return
				}
				r, err := c.s.Get(c.ctx, key, nil)
				if err != nil {
					c.Errorf("Get(%q): %v", key, err)
					return
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, data) || r.Attrs.ETag != a.ETag {
					c.Errorf("Get(%q) returned other bytes or ETag (err %v)", key, err)
				}
				if _, err := c.s.Put(c.ctx, "shared", bytes.NewReader(data), nil); err != nil {
					c.Errorf("Put(shared): %v", err)
				}
				if _, err := c.s.Copy(c.ctx, key+".copy", key, nil); err != nil {
					c.Errorf("Copy(%q): %v", key, err)
				}
				for _, err := range c.s.List(c.ctx, &objstore.ListOptions{Prefix: fmt.Sprintf("g%d/", g), PageSize: 3}) {
					if err != nil {
						c.Errorf("List: %v", err)
						break
					}
				}
				if err := c.s.Delete(c.ctx, key); err != nil {
					c.Errorf("Delete(%q): %v", key, err)
				}
			}
		})
	}
	wg.Wait()
	entries, err := c.list(objstore.ListOptions{Delimiter: "/"}, 1000)
	c.ok(err, "List")
	if len(entries) != c.r.h.Racers+1 {
		c.Errorf("after the concurrent work, the root lists %q", keysOf(entries))
	}
}
