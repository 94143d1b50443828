package s3

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/objstore-go/objstore"
)

// isolateAWSEnv points the SDK's configuration at a shared config file
// with one profile, "objtest", and clears the variables that would make
// the results depend on the machine.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfg, []byte("[profile objtest]\nregion = eu-west-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[objtest]\naws_access_key_id = AKIDOBJTEST\naws_secret_access_key = objtest-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             cfg,
		"AWS_SHARED_CREDENTIALS_FILE": creds,
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_ACCESS_KEY_ID":           "AKIDENV",
		"AWS_SECRET_ACCESS_KEY":       "env-secret",
		"AWS_SESSION_TOKEN":           "",
	} {
		t.Setenv(k, v)
	}
}

func TestOpenURL(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		url        string
		region     string
		endpoint   string // "" for AWS
		pathStyle  bool
		anonymous  bool
		prefix     string
		accessKeys string // the access key ID the client signs with
	}{
		{url: "s3://bucket?region=us-west-2", region: "us-west-2", accessKeys: "AKIDENV"},
		{url: "s3://bucket/some/prefix/?region=eu-west-1", region: "eu-west-1", prefix: "some/prefix/", accessKeys: "AKIDENV"},
		{url: "s3://my.bucket-1/p?region=eu-west-1&use_path_style=1", region: "eu-west-1", prefix: "p/", pathStyle: true, accessKeys: "AKIDENV"},
		{url: "s3://bucket?endpoint=http://127.0.0.1:9000&use_path_style=true", region: "us-east-1", endpoint: "http://127.0.0.1:9000", pathStyle: true, accessKeys: "AKIDENV"},
		{url: "s3://bucket?endpoint=https://s3.example.com/base&region=auto&use_path_style=false", region: "auto", endpoint: "https://s3.example.com/base", accessKeys: "AKIDENV"},
		{url: "s3://bucket?anonymous=true&region=us-east-1", region: "us-east-1", anonymous: true},
		{url: "s3://bucket?anonymous=false&region=us-east-1", region: "us-east-1", accessKeys: "AKIDENV"},
		// An explicit profile wins over the environment's keys, as in the SDK.
		{url: "s3://bucket?profile=objtest", region: "eu-west-3", accessKeys: "AKIDOBJTEST"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st, err := objstore.Open(t.Context(), tt.url)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			s := st.(*Store)
			o := s.b.client.Options()
			if u, _ := url.Parse(tt.url); s.b.bucket != u.Host {
				t.Errorf("bucket %q, want %q", s.b.bucket, u.Host)
			}
			if o.Region != tt.region {
				t.Errorf("region %q, want %q", o.Region, tt.region)
			}
			if got := aws.ToString(o.BaseEndpoint); got != tt.endpoint {
				t.Errorf("endpoint %q, want %q", got, tt.endpoint)
			}
			if o.UsePathStyle != tt.pathStyle {
				t.Errorf("UsePathStyle %v, want %v", o.UsePathStyle, tt.pathStyle)
			}
			whenRequired := o.RequestChecksumCalculation == aws.RequestChecksumCalculationWhenRequired &&
				o.ResponseChecksumValidation == aws.ResponseChecksumValidationWhenRequired
			if whenRequired != (tt.endpoint != "") {
				t.Errorf("checksums %v/%v; want \"when required\" exactly when an endpoint is set", o.RequestChecksumCalculation, o.ResponseChecksumValidation)
			}
			if s.b.prefix != tt.prefix {
				t.Errorf("prefix %q, want %q", s.b.prefix, tt.prefix)
			}
			switch {
			case tt.anonymous && o.Credentials != nil:
				t.Errorf("anonymous=true, but the client has credentials %T", o.Credentials)
			case !tt.anonymous:
				if o.Credentials == nil {
					t.Fatal("the client has no credentials")
				}
				c, err := o.Credentials.Retrieve(t.Context())
				if err != nil || c.AccessKeyID != tt.accessKeys {
					t.Errorf("credentials %q, %v; want access key %q", c.AccessKeyID, err, tt.accessKeys)
				}
			}
		})
	}
}

func TestOpenURLInvalid(t *testing.T) {
	isolateAWSEnv(t)
	const canary = "CANARY-s3cr3t-value"
	tests := []struct {
		url  string
		want []string // substrings of the message
	}{
		{"s3://bucket?region=us-east-1&bogus=1", []string{`"bogus"`, "region", "endpoint"}},
		{"s3://bucket?region=us-east-1&Region=x", []string{`"Region"`}},
		{"s3://bucket?secret_access_key=" + canary, []string{"secret", "credential", "AWS_ACCESS_KEY_ID"}},
		{"s3://bucket?aws_secret_access_key=" + canary, []string{"secret", "credential"}},
		{"s3://bucket?session_token=" + canary, []string{"secret", "credential"}},
		{"s3://bucket?access_key_id=" + canary, []string{"secret", "credential"}},
		{"s3://bucket?region=us-east-1&use_path_style=yes", []string{"use_path_style", "true or false"}},
		{"s3://bucket?region=us-east-1&anonymous=maybe", []string{"anonymous", "true or false"}},
		{"s3://bucket?region=us-east-1&region=us-west-2", []string{"region", "once"}},
		{"s3://bucket?region=", []string{"region"}},
		{"s3://bucket?profile=&region=us-east-1", []string{"profile"}},
		{"s3://bucket?endpoint=127.0.0.1:9000", []string{"endpoint", "http://"}},
		{"s3://bucket?endpoint=ftp://host", []string{"endpoint", "http://"}},
		{"s3://bucket?endpoint=http://", []string{"endpoint", "no host"}},
		{"s3://bucket?endpoint=" + url.QueryEscape("http://user:"+canary+"@host"), []string{"endpoint", "user information"}},
		{"s3://bucket?endpoint=" + url.QueryEscape("http://host/?x=1"), []string{"endpoint", "query"}},
		{"s3://bucket?anonymous=true&profile=objtest", []string{"anonymous", "profile"}},
		{"s3://bucket?profile=no-such-profile", []string{"no-such-profile"}},
		{"s3://bucket", []string{"region", "AWS_REGION"}},
		{"s3:///prefix?region=us-east-1", []string{"bucket name is empty"}},
		{"s3://buck*et?region=us-east-1", []string{"bucket name"}},
		{"s3://bucket/a//b?region=us-east-1", []string{"prefix"}},
		{"s3://bucket/a/../b?region=us-east-1", []string{"prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st, err := objstore.Open(t.Context(), tt.url)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded; want ErrInvalidArgument")
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) {
				t.Fatalf("Open: %v; want ErrInvalidArgument", err)
			}
			var oe *objstore.Error
			if !errors.As(err, &oe) || oe.Driver != Scheme || oe.Op != "open" {
				t.Errorf("Open: %#v; want an *objstore.Error from driver s3, op open", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, canary) {
				t.Errorf("the message repeats the secret: %q", msg)
			}
		})
	}
}

func TestOpenURLPrefixConflict(t *testing.T) {
	isolateAWSEnv(t)
	u, _ := url.Parse("s3://bucket/p?region=us-east-1")
	_, err := OpenURL(t.Context(), u, &Options{Prefix: "q"})
	if !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Fatalf("OpenURL with Options.Prefix: %v; want ErrInvalidArgument", err)
	}
}

func TestNew(t *testing.T) {
	client := awss3.New(awss3.Options{Region: "us-east-1"})
	tests := []struct {
		name   string
		client *awss3.Client
		bucket string
		opts   *Options
		want   string // substring of the error; "" for success
	}{
		{"defaults", client, "b", nil, ""},
		{"zero options", client, "b", &Options{}, ""},
		{"tuned", client, "b", &Options{Prefix: "a/b/", PartSize: 5 << 20, Concurrency: 1, MultipartThreshold: 1, CopyThreshold: 1, CopyPartSize: 5 << 30}, ""},
		{"nil client", nil, "b", nil, "client is nil"},
		{"no bucket", client, "", nil, "bucket name is empty"},
		{"bad bucket", client, "a/b", nil, "bucket name"},
		{"bad prefix", client, "b", &Options{Prefix: "/a"}, "prefix"},
		{"small part", client, "b", &Options{PartSize: 1 << 20}, "PartSize"},
		{"big part", client, "b", &Options{PartSize: 6 << 30}, "PartSize"},
		{"negative concurrency", client, "b", &Options{Concurrency: -1}, "Concurrency"},
		{"big threshold", client, "b", &Options{MultipartThreshold: 6 << 30}, "MultipartThreshold"},
		{"negative copy threshold", client, "b", &Options{CopyThreshold: -1}, "CopyThreshold"},
		{"small copy part", client, "b", &Options{CopyPartSize: 1}, "CopyPartSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.client, tt.bucket, tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if s.b.opts.PartSize == 0 || s.b.opts.Concurrency == 0 || s.b.opts.CopyThreshold == 0 || s.b.opts.CopyPartSize == 0 {
					t.Errorf("defaults not filled in: %+v", s.b.opts)
				}
				return
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v; want ErrInvalidArgument saying %q", err, tt.want)
			}
		})
	}
}

// TestClosed checks every operation fails after Close, before any
// request.
func TestClosed(t *testing.T) {
	s, err := New(awss3.New(awss3.Options{Region: "us-east-1"}), "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ctx := context.Background()
	_, err1 := s.Stat(ctx, "k")
	_, err2 := s.Get(ctx, "k", nil)
	_, err3 := s.Put(ctx, "k", strings.NewReader("x"), nil)
	err4 := s.Delete(ctx, "k")
	_, err5 := s.Copy(ctx, "a", "k", nil)
	var err6 error
	for _, err := range s.List(ctx, nil) {
		err6 = err
	}
	for i, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err == nil || !strings.Contains(err.Error(), "the store is closed") {
			t.Errorf("call %d after Close: %v; want the store-is-closed error", i, err)
		}
	}
}

// TestKeyRules: reads address what AWS holds; at an S3-compatible
// endpoint a leading "/" is refused, since MinIO strips it (rule K3).
// keys= and Options.Keys set the mode of writes (rule K4).
func TestKeyRules(t *testing.T) {
	isolateAWSEnv(t)
	onAWS, err := New(awss3.New(awss3.Options{Region: "us-east-1"}), "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err := New(awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}), "b", &Options{Keys: objstore.KeysNative})
	if err != nil {
		t.Fatal(err)
	}
	// With a cancelled context, a key the validator accepts fails with the
	// context's error, one it refuses with ErrInvalidArgument: nothing is
	// sent either way.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, k := range []string{"dots./b.txt", "a//b", "dir/", "/lead"} {
		if _, err := onAWS.Stat(cancelled, k); !errors.Is(err, context.Canceled) {
			t.Errorf("AWS: Stat(%q): %v", k, err)
		}
	}
	if _, err := server.Stat(cancelled, "/lead"); !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "strips") {
		t.Errorf("S3-compatible server: Stat(\"/lead\") = %v, want ErrInvalidArgument saying the server strips the slash", err)
	}
	if _, err := server.Put(cancelled, "dots./b.txt", strings.NewReader("x"), nil); !errors.Is(err, context.Canceled) || !server.b.Info().Native {
		t.Errorf("Options.Keys = KeysNative: Put(\"dots./b.txt\") = %v", err)
	}
	if _, err := New(awss3.New(awss3.Options{Region: "us-east-1"}), "b", &Options{Keys: 9}); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("Options.Keys = 9: %v, want ErrInvalidArgument", err)
	}
	u, _ := url.Parse("s3://b?region=us-east-1&keys=native")
	if s, err := OpenURL(t.Context(), u, nil); err != nil || !s.b.Info().Native {
		t.Errorf("keys=native: %v", err)
	}
	u, _ = url.Parse("s3://b?region=us-east-1&keys=yes")
	if _, err := OpenURL(t.Context(), u, nil); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("keys=yes: %v, want ErrInvalidArgument", err)
	}
}

// TestOpenURLShape: s3.OpenURL, which apps may call without objstore.Open,
// refuses the URLs Open refuses: user information (a secret in the URL),
// a fragment, an opaque URL.
func TestOpenURLShape(t *testing.T) {
	for _, raw := range []string{"s3://AKIA:secret@bucket?region=us-east-1", "s3://bucket/p?region=us-east-1#frag", "s3:bucket"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenURL(t.Context(), u, nil)
		if !errors.Is(err, objstore.ErrInvalidArgument) || strings.Contains(err.Error(), "secret") {
			t.Errorf("OpenURL(%q) = %v; want ErrInvalidArgument that does not repeat the secret", raw, err)
		}
	}
}
