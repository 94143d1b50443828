package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/objstore-go/objstore"
)

var invalidKeys = []string{
	"", "/a", "a/", "a//b", ".", "..", "./a", "a/./b", "a/../b", "a/..",
	`a\b`, "a\x00b", "a\nb", "a\tb", "a\x7fb", "a\u0085b", "a\xffb", "a\uffffb", "dot./x", "dot.",
	strings.Repeat("k", objstore.MaxSegmentLen+1),
	longTail(objstore.MaxKeyLen + 1),
}

// longTail returns a valid key of n bytes made of the longest segments
// allowed.
func longTail(n int) string {
	var b strings.Builder
	for b.Len() < n {
		seg := min(objstore.MaxSegmentLen, n-b.Len())
		if b.Len() > 0 {
			b.WriteByte('/')
			seg = min(objstore.MaxSegmentLen, n-b.Len())
		}
		b.WriteString(strings.Repeat("k", seg))
	}
	return b.String()
}

// K1: every operation rejects every invalid key.
func caseInvalidKeys(c *C) {
	for _, key := range invalidKeys {
		checkInvalidKey(c, c.s, key)
	}
}

func checkInvalidKey(c *C, s objstore.Store, key string) {
	c.Helper()
	what := func(op string) string { return fmt.Sprintf("%s(%.40q)", op, key) }
	_, err := s.Put(c.ctx, key, strings.NewReader("x"), nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Put"))
	_, err = s.Get(c.ctx, key, nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Get"))
	_, err = s.Stat(c.ctx, key)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Stat"))
	err = s.Delete(c.ctx, key)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Delete"))
	_, err = s.Copy(c.ctx, "valid-dst", key, nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Copy from"))
	_, err = s.Copy(c.ctx, key, "valid-src", nil)
	c.wantErr(err, objstore.ErrInvalidArgument, what("Copy to"))
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
	tail := longTail(objstore.MaxKeyLen - c.r.base - len(stem))
	key := stem + tail
	if _, err := root.Put(c.ctx, key, strings.NewReader("max"), nil); err != nil {
		c.ok(err, fmt.Sprintf("Put of a %d-byte key", objstore.MaxKeyLen))
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
	c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Put of a %d-byte key", objstore.MaxKeyLen+1))
	c.ok(root.Delete(c.ctx, key), "Delete of the longest key")
}
