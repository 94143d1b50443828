package s3

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/objstore-go/objstore"
)

// TestNoCredentials checks that a credential chain that finds nothing is
// ErrUnauthenticated, with a hint that says where the chain looked, and
// that no request is sent: not ErrPermission when the instance metadata
// service answers 403, and not unclassified when it is switched off.
func TestNoCredentials(t *testing.T) {
	forEachServer(t, func(t *testing.T, server string, u *url.URL) {
		for _, disabled := range []bool{false, true} {
			name := "IMDS answers 403"
			if disabled {
				name = "IMDS disabled"
			}
			t.Run(name, func(t *testing.T) {
				var asked atomic.Int32
				imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					asked.Add(1)
					http.Error(w, "forbidden", http.StatusForbidden)
				}))
				t.Cleanup(imds.Close)
				empty := filepath.Join(t.TempDir(), "empty")
				if err := os.WriteFile(empty, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
					"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
					"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"} {
					t.Setenv(v, "")
				}
				t.Setenv("AWS_CONFIG_FILE", empty)
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
				t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
				t.Setenv("AWS_EC2_METADATA_DISABLED", map[bool]string{false: "false", true: "true"}[disabled])

				// Nothing can be written, so nothing is cleaned up: the
				// bucket is named.
				s, rec := openServer(t, u, u.Host, nil)
				ctx := t.Context()
				calls := map[string]func() error{
					"Stat":   func() error { _, err := s.Stat(ctx, "k"); return err },
					"Get":    func() error { _, err := s.Get(ctx, "k", nil); return err },
					"Put":    func() error { _, err := s.Put(ctx, "k", strings.NewReader("x"), nil); return err },
					"Delete": func() error { return s.Delete(ctx, "k") },
					"Copy":   func() error { _, err := s.Copy(ctx, "k2", "k", nil); return err },
					"List": func() error {
						for _, err := range s.List(ctx, nil) {
							return err
						}
						return nil
					},
				}
				want := []string{"no credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", empty, "SSO", "web identity", "IMDS"}
				if disabled {
					want = append(want, "AWS_EC2_METADATA_DISABLED=true")
				} else {
					want = append(want, imds.URL, "403")
				}
				for name, call := range calls {
					err := call()
					if !errors.Is(err, objstore.ErrUnauthenticated) || errors.Is(err, objstore.ErrPermission) {
						t.Errorf("%s: %v; want ErrUnauthenticated, not ErrPermission", name, err)
						continue
					}
					msg := err.Error()
					for _, w := range want {
						if !strings.Contains(msg, w) {
							t.Errorf("%s: %v does not say %q", name, err, w)
						}
					}
					if strings.Contains(msg, "\n") {
						t.Errorf("%s: the message has more than one line: %q", name, msg)
					}
				}
				if ops, _, _ := rec.snapshot(); len(ops) != 0 {
					t.Errorf("requests reached the server without credentials: %v", ops)
				}
				if n := asked.Load(); disabled && n != 0 || !disabled && n == 0 {
					t.Errorf("the IMDS was asked %d times", n)
				}
			})
		}
	})
}
