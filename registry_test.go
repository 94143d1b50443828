package objstore_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	_ "github.com/objstore-go/objstore/drivers/memory"
)

func TestRegisterPanics(t *testing.T) {
	open := func(context.Context, *url.URL) (objstore.Store, error) { return nil, nil }
	for name, f := range map[string]func(){
		"empty scheme": func() { objstore.Register("", open) },
		"nil open":     func() { objstore.Register("regtest-nil", nil) },
		"duplicate":    func() { objstore.Register("mem", open) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register with %s did not panic", name)
				}
			}()
			f()
		})
	}
	if !slices.Contains(objstore.Schemes(), "regtest-ok") { // -count=N runs this again
		objstore.Register("regtest-ok", open)
	}
	if !slices.Contains(objstore.Schemes(), "regtest-ok") || !slices.IsSorted(objstore.Schemes()) {
		t.Errorf("Schemes() = %q", objstore.Schemes())
	}
}

func TestOpenErrors(t *testing.T) {
	const canary = "CANARY-9f8e7d"
	tests := []struct {
		url  string
		want []string // substrings of the message
	}{
		{"nosuch://bucket", []string{`"nosuch"`, "mem", "import a driver"}},
		{"bucket/no/scheme", []string{"no scheme", "mem"}},
		{"mem://a%zz", []string{"malformed URL"}},
		{"mem://user:" + canary + "@name", []string{"user information"}},
		{"mem:opaque", []string{"opaque"}},
		{"mem://name#frag", []string{"fragment"}},
		{"mem://name?bogus=1", []string{`"bogus"`, "create"}},
		{"mem://name?create=1&create=0", []string{"given 2 times"}},
		{"mem://name?secret_access_key=" + canary, []string{"looks like a secret", "credentials"}},
		{"mem://name?AccountKey=" + canary, []string{"looks like a secret"}},
		{"mem://name/a//b", []string{"not a valid key prefix"}},
	}
	for _, tt := range tests {
		_, err := objstore.Open(context.Background(), tt.url)
		if !errors.Is(err, objstore.ErrInvalidArgument) {
			t.Errorf("Open(%q) = %v, want ErrInvalidArgument", tt.url, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, canary) {
			t.Errorf("Open(%q) repeats the secret: %s", tt.url, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Open(%q) = %q; want it to mention %q", tt.url, msg, w)
			}
		}
	}
}

// typedNil is a driver's Store type; a nil *typedNil in a Store interface
// is not a nil Store.
type typedNil struct{ objstore.Store }

func (*typedNil) Close() error { panic("Close on a nil *typedNil") }

// TestOpenNeverTypedNil: whatever a driver's OpenFunc returns, a failed
// Open returns a nil Store (item: a caller that checks s != nil before
// Close must not panic), and a driver that returns neither a Store nor an
// error is reported, not handed on.
func TestOpenNeverTypedNil(t *testing.T) {
	fail := errors.New("refused")
	if !slices.Contains(objstore.Schemes(), "regtest-typednil") { // -count=N runs this again
		objstore.Register("regtest-typednil", func(_ context.Context, u *url.URL) (objstore.Store, error) {
			var s *typedNil
			if u.Host == "ok" {
				return s, nil
			}
			return s, fail
		})
	}
	s, err := objstore.Open(context.Background(), "regtest-typednil://bad")
	if !errors.Is(err, fail) || s != nil {
		t.Errorf("Open of a failing driver = (%#v, %v), want (nil, refused)", s, err)
	}
	s, err = objstore.Open(context.Background(), "regtest-typednil://ok")
	if err == nil || s != nil || !strings.Contains(err.Error(), "no Store and no error") {
		t.Errorf("Open of a driver returning a nil pointer and no error = (%#v, %v), want (nil, an error naming the driver bug)", s, err)
	}
}
