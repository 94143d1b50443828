package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

var invalidKeys = []string{
	"", "/a", "a/", "a//b", ".", "..", "./a", "a/./b", "a/../b", "a/..",
	`a\b`, "a\x00b", "a\nb", "a\tb", "a\x7fb", "a\u0085b", "a\xffb", "a\uffffb", "dot./x", "dot.",
	strings.Repeat("k", driver.MaxSegmentLen+1),
	longTail(driver.MaxKeyLen + 1),
}

// longTail returns a valid key of n bytes made of the longest segments
// allowed.
func longTail(n int) string {
	var b strings.Builder
	for b.Len() < n {
		seg := min(driver.MaxSegmentLen, n-b.Len())
		if b.Len() > 0 {
			b.WriteByte('/')
			seg = min(driver.MaxSegmentLen, n-b.Len())
		}
		b.WriteString(strings.Repeat("k", seg))
	}
	return b.String()
}

// unaddressable are keys no backend can address: every operation refuses
// them, reads included.
var unaddressable = []string{"", "a\x00b", "a\xffb"}

// K1: Put and Copy's dst reject every key that is not portable; reads of
// such a key find nothing or refuse it, and reads of a key no backend
// addresses refuse it.
func caseInvalidKeys(c *C) {
	for _, key := range invalidKeys {
		checkInvalidKey(c, c.s, key)
		checkReadMissing(c, c.s, key)
	}
	for _, key := range unaddressable {
		checkUnaddressable(c, c.s, key)
	}
}

// checkInvalidKey checks that s creates no object at key.
func checkInvalidKey(c *C, s objstore.Store, key string) {
	c.Helper()
	what := func(op string) string { return fmt.Sprintf("%s(%.40q)", op, key) }
	_, err := s.Put(c.ctx, key, strings.NewReader("x"), nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Put"))
	_, err = s.Copy(c.ctx, key, "valid-src", nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Copy to"))
}

// checkReadMissing checks the reads of key, which no object has: the
// answer is ErrNotFound (nil for Delete), or ErrInvalidArgument where the
// backend cannot address key (rule K3).
func checkReadMissing(c *C, s objstore.Store, key string) {
	c.Helper()
	what := func(op string) string { return fmt.Sprintf("%s(%.40q)", op, key) }
	missing := func(err error, op string) {
		c.Helper()
		if err != nil && !errors.Is(err, objstore.ErrInvalidArgument) {
			c.wantErr(err, objstore.ErrNotFound, what(op))
		}
	}
	_, err := s.Get(c.ctx, key, nil)
	if err == nil {
		c.Errorf("%s found an object, but none was written", what("Get"))
	}
	missing(err, "Get")
	_, err = s.Stat(c.ctx, key)
	if err == nil {
		c.Errorf("%s found an object, but none was written", what("Stat"))
	}
	missing(err, "Stat")
	if err := s.Delete(c.ctx, key); err != nil && !errors.Is(err, objstore.ErrInvalidArgument) {
		c.Errorf("%s of a missing key: %v, want nil or ErrInvalidArgument", what("Delete"), err)
	}
	_, err = s.Copy(c.ctx, "valid-dst", key, nil)
	if err == nil {
		c.Errorf("%s copied an object, but none was written", what("Copy from"))
	}
	missing(err, "Copy from")
}

// checkUnaddressable checks that every operation refuses key.
func checkUnaddressable(c *C, s objstore.Store, key string) {
	c.Helper()
	what := func(op string) string { return fmt.Sprintf("%s(%.40q)", op, key) }
	checkInvalidKey(c, s, key)
	_, err := s.Get(c.ctx, key, nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Get"))
	_, err = s.Stat(c.ctx, key)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Stat"))
	err = s.Delete(c.ctx, key)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Delete"))
	_, err = s.Copy(c.ctx, "valid-dst", key, nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Copy from"))
}

// K1: invalid keys are rejected before any request: against a bucket that
// does not exist the answer is still ErrInvalidArgument, not
// ErrBucketNotFound.
func caseInvalidBeforeRequest(c *C) {
	s := c.openMissingBucket()
	defer s.Close()
	for _, key := range invalidKeys[:6] {
		checkInvalidKey(c, s, key)
	}
	for _, key := range unaddressable {
		checkUnaddressable(c, s, key)
	}
}

// foreignKeys are keys that other tools write and K1 refuses: each is
// written through a keys=native store where the backend holds it, and
// read through the default store (rule K3).
var foreignKeys = []string{
	"dots./b.txt", "tail.", "a//b", "dir/", "a/./b", "a/../b", `back\slash`, "ctl\x01char", "a/b",
}

// foreignContent is what writeForeign writes at key k: its name, or
// nothing for a "dir/" marker, as the S3 console writes one (and as
// versitygw requires).
func foreignContent(k string) []byte {
	if strings.HasSuffix(k, "/") {
		return nil
	}
	return []byte(k)
}

// writeForeign writes each of keys, with foreignContent, through the
// keys=native store n, and returns those the backend holds. A key refused
// with ErrInvalidArgument is one the backend cannot hold.
func writeForeign(c *C, n objstore.Store, keys []string) []string {
	c.Helper()
	var held []string
	for _, k := range keys {
		_, err := n.Put(c.ctx, k, bytes.NewReader(foreignContent(k)), nil)
		switch {
		case err == nil:
			held = append(held, k)
		case errors.Is(err, objstore.ErrInvalidArgument):
			c.Logf("the backend does not hold %q: %v", k, err)
		default:
			c.ok(err, fmt.Sprintf("Put(%q) through the keys=native store", k))
		}
	}
	return held
}

// K3: the keys other tools wrote, which K1 would not create, are read,
// listed, copied from and deleted through the default store; Put of them
// is still refused there, and says how to write them.
func caseForeignKeys(c *C) {
	held := writeForeign(c, c.native(true), foreignKeys)
	if len(held) < 2 {
		c.Fatalf("the keys=native store held only %q of %q; every backend holds a segment ending in a dot or an empty segment", held, foreignKeys)
	}
	// The backend holds each key under its own name: a backend that
	// stores "a//b" as "a/b" would make reads of one reach the other, and
	// its driver must refuse such keys.
	want := slices.Sorted(slices.Values(held))
	entries, err := c.list(objstore.ListOptions{}, 2*len(want))
	c.ok(err, "List")
	if got := keysOf(entries); !slices.Equal(got, want) {
		c.Fatalf("after writing %q through the keys=native store, List returned %q: the backend stored some under other names, and the driver should refuse those keys", held, got)
	}
	for _, k := range held {
		if k == "a/b" {
			continue // portable: there to show a//b, a/./b and a/../b are other keys
		}
		c.content(k, foreignContent(k), "")
		if st := c.stat(k); st.Key != k || st.Size != int64(len(foreignContent(k))) {
			c.Errorf("Stat(%q) returned Key %q, Size %d", k, st.Key, st.Size)
		}
		if !strings.HasSuffix(k, "/") { // versitygw cannot copy a directory marker (500)
			cp, err := c.s.Copy(c.ctx, "copied", k, nil)
			c.ok(err, fmt.Sprintf("Copy from %q", k))
			if cp.Key != "copied" {
				c.Errorf("Copy from %q returned Key %q", k, cp.Key)
			}
			c.content("copied", foreignContent(k), "")
		}
		_, err = c.s.Put(c.ctx, k, strings.NewReader("x"), nil)
		if c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Put(%q) through the default store", k)) &&
			!strings.Contains(err.Error(), driver.KeysParam+"=native") {
			c.Errorf("Put(%q) through the default store: the error does not point to %s=native: %v", k, driver.KeysParam, err)
		}
	}
	entries, err = c.list(objstore.ListOptions{}, 2*len(want)+2)
	c.ok(err, "List")
	for _, e := range entries {
		c.ok(c.s.Delete(c.ctx, e.Key), fmt.Sprintf("Delete(%q) of a listed key", e.Key))
		c.missing(e.Key)
	}

	// A key with a leading "/" lies at the bucket's root, outside the
	// case's prefix.
	root := c.native(false)
	lead := "/" + c.dir + "lead"
	if held := writeForeign(c, root, []string{lead}); len(held) == 1 {
		defer root.Delete(c.ctx, lead)
		s, err := c.r.open(c.ctx, "")
		c.ok(err, "opening the store's root")
		defer s.Close()
		// The backend holds it under its own name, not as c.dir+"lead".
		var listed []string
		for e, err := range s.List(c.ctx, &objstore.ListOptions{Prefix: "/" + c.dir}) {
			c.ok(err, fmt.Sprintf("List(%q)", "/"+c.dir))
			if listed = append(listed, e.Key); len(listed) > 10 {
				break
			}
		}
		if !slices.Equal(listed, []string{lead}) {
			c.Errorf("after Put(%q) through the keys=native store, List(%q) returned %q: the backend stored the key under another name, and the driver should refuse it", lead, "/"+c.dir, listed)
		}
		a, err := s.Stat(c.ctx, lead)
		c.ok(err, fmt.Sprintf("Stat(%q)", lead))
		if a.Key != lead {
			c.Errorf("Stat(%q) returned Key %q", lead, a.Key)
		}
		r, err := s.Get(c.ctx, lead, nil)
		c.ok(err, fmt.Sprintf("Get(%q)", lead))
		got, err := io.ReadAll(r)
		r.Close()
		c.ok(err, fmt.Sprintf("reading %q", lead))
		if string(got) != lead {
			c.Errorf("%q holds %q", lead, got)
		}
		c.ok(s.Delete(c.ctx, lead), fmt.Sprintf("Delete(%q)", lead))
		if _, err := s.Stat(c.ctx, lead); !errors.Is(err, objstore.ErrNotFound) {
			c.Errorf("Stat(%q) after Delete: %v, want ErrNotFound", lead, err)
		}
	}
}

// K4: a keys=native store creates the keys its backend holds, with Put
// and as Copy's dst, and still refuses what no backend addresses.
func caseNativeWrites(c *C) {
	n := c.native(true)
	held := writeForeign(c, n, foreignKeys)
	if len(held) < 2 {
		c.Fatalf("the keys=native store held only %q of %q", held, foreignKeys)
	}
	for _, k := range held {
		c.ok(n.Delete(c.ctx, k), fmt.Sprintf("Delete(%q)", k))
		if strings.HasSuffix(k, "/") {
			continue // versitygw cannot copy to a directory marker
		}
		c.put("src", []byte("src "+k), nil)
		_, err := n.Copy(c.ctx, k, "src", nil)
		c.ok(err, fmt.Sprintf("Copy to %q through the keys=native store", k))
		c.content(k, []byte("src "+k), "")
		if k != "a/b" {
			_, err = c.s.Copy(c.ctx, k, "src", nil)
			c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Copy to %q through the default store", k))
		}
	}
	for _, k := range unaddressable {
		checkUnaddressable(c, n, k)
	}
	if c.r.h.URL != "" && c.r.h.Open == nil {
		u, err := url.Parse(withPath(c.r.h.URL, c.dir))
		c.ok(err, "parsing the harness URL")
		q := u.Query()
		q.Set(driver.KeysParam, "nosuch")
		u.RawQuery = q.Encode()
		if s, err := objstore.Open(c.ctx, u.String()); c.wantErr(err, objstore.ErrInvalidArgument, "Open with keys=nosuch") {
			if err == nil {
				s.Close()
			}
		}
	}
	for _, k := range held {
		c.ok(c.s.Delete(c.ctx, k), fmt.Sprintf("Delete(%q)", k))
	}
}

var opaqueKeys = []string{
	"with space", "plus+sign", "per%cent", "hash#tag", "question?mark", "amp&ersand", "equals=sign",
	"at@sign", "colon:sep", "tilde~", "dollar$", "single'quote", `double"quote`, "less<greater>",
	"emoji-\U0001F600-key", "%48%45%4C%4C%4F/x", "HELLO/x", "a/b%2Fc", "a/b/c",
	"caf\u00e9", "cafe\u0301", "comma,semi;colon", "brackets[]{}|^`", "unicode/日本語/キー", "x/..y/.z",
}

// K2: keys round-trip byte-exact through every operation.
func caseOpaqueKeys(c *C) {
	for _, key := range opaqueKeys {
		a := c.put(key, []byte(key), nil)
		if a.Key != key {
			c.Errorf("Put(%q) returned Key %q", key, a.Key)
		}
		got, r := c.read(key, nil)
		if !bytes.Equal(got, []byte(key)) || r.Attrs.Key != key {
			c.Errorf("Get(%q) returned Key %q and content %q", key, r.Attrs.Key, got)
		}
		if st := c.stat(key); st.Key != key {
			c.Errorf("Stat(%q) returned Key %q", key, st.Key)
		}
		cp, err := c.s.Copy(c.ctx, key+"-copy", key, nil)
		c.ok(err, fmt.Sprintf("Copy(%q)", key+"-copy"))
		if cp.Key != key+"-copy" {
			c.Errorf("Copy to %q returned Key %q", key+"-copy", cp.Key)
		}
		c.content(key+"-copy", []byte(key), "")
	}
	entries, err := c.list(objstore.ListOptions{}, 4*len(opaqueKeys))
	c.ok(err, "List")
	var want []string
	for _, k := range opaqueKeys {
		want = append(want, k, k+"-copy")
	}
	slices.Sort(want)
	if got := keysOf(entries); !slices.Equal(got, want) {
		c.Errorf("List returned\n %q\nwant\n %q", got, want)
	}
	for _, k := range want {
		c.ok(c.s.Delete(c.ctx, k), fmt.Sprintf("Delete(%q)", k))
		c.missing(k)
	}
}

// K2: a key of exactly MaxKeyLen bytes, counted from the bucket's root,
// works; one byte more is invalid.
func caseMaxLengthKey(c *C) {
	root, err := c.r.open(c.ctx, "")
	c.ok(err, "opening the store's root")
	defer root.Close()
	stem := c.dir + "max/"
	tail := longTail(driver.MaxKeyLen - c.r.base - len(stem))
	key := stem + tail
	if _, err := root.Put(c.ctx, key, strings.NewReader("max"), nil); err != nil {
		c.ok(err, fmt.Sprintf("Put of a %d-byte key", driver.MaxKeyLen))
	}
	a, err := root.Stat(c.ctx, key)
	c.ok(err, "Stat of the longest key")
	if a.Key != key {
		c.Errorf("Stat returned a %d-byte key, want %d bytes", len(a.Key), len(key))
	}
	entries, err := c.list(objstore.ListOptions{}, 10)
	c.ok(err, "List")
	if len(entries) != 1 || entries[0].Key != "max/"+tail {
		c.Errorf("List returned %d entries, want the one longest key", len(entries))
	}
	_, err = root.Put(c.ctx, key+"k", strings.NewReader("x"), nil)
	c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Put of a %d-byte key", driver.MaxKeyLen+1))
	c.ok(root.Delete(c.ctx, key), "Delete of the longest key")
}
