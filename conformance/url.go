package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/objstore-go/objstore"
)

func (c *C) needURL() *url.URL {
	c.Helper()
	if c.r.h.URL == "" {
		c.unsupported("checking URLs", errors.New("the Harness has no URL"))
	}
	u, err := url.Parse(c.r.h.URL)
	c.ok(err, "parsing Harness.URL")
	return u
}

func withParam(u *url.URL, name, value string) string {
	v := *u
	q := v.Query()
	q.Set(name, value)
	v.RawQuery = q.Encode()
	return v.String()
}

// U1: unknown schemes, malformed URLs and unknown parameters get clear
// errors.
func caseBadURLs(c *C) {
	u := c.needURL()
	_, err := objstore.Open(c.ctx, "objstore-nosuch://bucket")
	if c.wantErr(err, objstore.ErrInvalidArgument, "Open of an unknown scheme") && !strings.Contains(err.Error(), u.Scheme) {
		c.Errorf("the error for an unknown scheme does not list %q: %v", u.Scheme, err)
	}
	_, err = objstore.Open(c.ctx, u.Scheme+"://bad%zzhost/x")
	c.wantErr(err, objstore.ErrInvalidArgument, "Open of a malformed URL")
	s, err := objstore.Open(c.ctx, withParam(u, "objstore_bogus", "1"))
	if s != nil {
		// A nil driver pointer in the interface: s.Close() would panic.
		c.Errorf("a failed Open returned a non-nil Store %#v beside its error", s)
	}
	if c.wantErr(err, objstore.ErrInvalidArgument, "Open with an unknown parameter") && !strings.Contains(err.Error(), "objstore_bogus") {
		c.Errorf("the error for an unknown parameter does not name it: %v", err)
	}
	_, err = objstore.Open(c.ctx, u.Scheme+"://user:CANARY-pw-42@"+u.Host)
	if c.wantErr(err, objstore.ErrInvalidArgument, "Open of a URL with a password") && strings.Contains(err.Error(), "CANARY-pw-42") {
		c.Errorf("the error repeats the URL's password: %v", err)
	}
	bad := *u
	bad.Path = "/a//b"
	_, err = objstore.Open(c.ctx, bad.String())
	c.wantErr(err, objstore.ErrInvalidArgument, "Open with an invalid key prefix in the path")
}

// U2: mem://NAME is shared within the process; mem:// is private.
func caseMemoryNames(c *C) {
	if !slices.Contains(objstore.Schemes(), "mem") {
		c.Logf("U2 is a rule of the memory driver, which this binary does not register")
		return
	}
	name := "conformance-" + randomHex(6)
	open := func(raw string) objstore.Store {
		s, err := objstore.Open(c.ctx, raw)
		c.ok(err, "Open("+raw+")")
		return s
	}
	a, b := open("mem://"+name), open("mem://"+name)
	defer a.Close()
	defer b.Close()
	_, err := a.Put(c.ctx, "k", strings.NewReader("shared"), nil)
	c.ok(err, "Put")
	if _, err := b.Stat(c.ctx, "k"); err != nil {
		c.Errorf("a second mem://%s does not see the first one's object: %v", name, err)
	}
	p1, p2 := open("mem://"), open("mem://")
	defer p1.Close()
	defer p2.Close()
	_, err = p1.Put(c.ctx, "k", strings.NewReader("private"), nil)
	c.ok(err, "Put")
	_, err = p2.Stat(c.ctx, "k")
	c.wantErr(err, objstore.ErrNotFound, "Stat in a second private mem:// store")
}

// U3: the URL path is a key prefix, and keys come back relative to it.
func casePrefix(c *C) {
	inner, err := c.r.open(c.ctx, c.dir+"p/q/")
	c.ok(err, "opening a store with a path")
	defer inner.Close()
	a, err := inner.Put(c.ctx, "k", strings.NewReader("x"), nil)
	c.ok(err, "Put under a prefix")
	if a.Key != "k" {
		c.Errorf("Put under a prefix returned Key %q, want k", a.Key)
	}
	if st := c.stat("p/q/k"); st.ETag != a.ETag {
		c.Errorf("the outer store sees p/q/k with ETag %s, want %s", st.ETag, a.ETag)
	}
	_, err = inner.Copy(c.ctx, "k2", "k", nil)
	c.ok(err, "Copy under a prefix")
	c.put("p/other", nil, nil)
	var got []string
	for e, err := range inner.List(c.ctx, nil) {
		c.ok(err, "List under a prefix")
		got = append(got, e.Key)
		if len(got) > 10 {
			break
		}
	}
	if !slices.Equal(got, []string{"k", "k2"}) {
		c.Errorf("List under a prefix returned %q, want [k k2]", got)
	}
	r, err := inner.Get(c.ctx, "k", nil)
	c.ok(err, "Get under a prefix")
	r.Close()
	if r.Attrs.Key != "k" {
		c.Errorf("Get under a prefix returned Key %q", r.Attrs.Key)
	}
}

// U4: a secret in a URL parameter is refused, and not repeated.
func caseSecretParams(c *C) {
	u := c.needURL()
	const canary = "CANARY-sEcReT-0123456789"
	for _, name := range []string{"secret_access_key", "sig", "AccountKey", "password", "sas", "access_key_id", "session_token"} {
		_, err := objstore.Open(c.ctx, withParam(u, name, canary))
		if !c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Open with %s= in the URL", name)) {
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, canary) {
			c.Errorf("the error for %s= repeats the secret: %s", name, msg)
		}
		if !strings.Contains(strings.ToLower(msg), "secret") || !strings.Contains(strings.ToLower(msg), "credential") {
			c.Errorf("the error for %s= does not point to the credential mechanism: %s", name, msg)
		}
	}
}

// E1: errors carry their class, the driver, the operation and the key.
func caseErrorClasses(c *C) {
	_, err := c.s.Stat(c.ctx, "missing-key")
	if !c.wantErr(err, objstore.ErrNotFound, "Stat of a missing key") {
		return
	}
	var oe *objstore.Error
	if !errors.As(err, &oe) {
		c.Fatalf("errors.As(%v, *objstore.Error) is false", err)
	}
	if oe.Op != "stat" || oe.Key != "missing-key" || oe.Driver == "" {
		c.Errorf("the error names driver %q, op %q and key %q; want the driver, stat and missing-key", oe.Driver, oe.Op, oe.Key)
	}
	if c.r.h.URL != "" {
		if u, _ := url.Parse(c.r.h.URL); oe.Driver != u.Scheme {
			c.Errorf("the error names driver %q, want %q", oe.Driver, u.Scheme)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "missing-key") || !strings.Contains(msg, "stat") || !strings.Contains(msg, oe.Driver) {
		c.Errorf("the message %q does not name the driver, operation and key", msg)
	}
	if c.r.h.SDKError != nil && !c.r.h.SDKError(err) {
		c.Errorf("errors.As does not reach the SDK's error type through %v", err)
	}
	for _, class := range []error{objstore.ErrExists, objstore.ErrPrecondition, objstore.ErrInvalidArgument, objstore.ErrBucketNotFound} {
		if errors.Is(err, class) {
			c.Errorf("a not-found error is also %v", class)
		}
	}
	_, err = c.s.Get(c.ctx, "missing-key", nil)
	c.wantErr(err, objstore.ErrNotFound, "Get of a missing key")
}
