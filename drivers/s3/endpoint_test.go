package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/testenv"
)

const canaryKeyID, canarySecret = "AKIDCANARY5C1E", "canary-s3cr3t-5c1e"

// canaryCredentials puts canary AWS keys in the environment.
func canaryCredentials(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", canaryKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", canarySecret)
}

// sink is a transport that records what reaches it and answers 404.
type sink struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *sink) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
	return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func (s *sink) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// TestEndpointPolicy: with credentials, a plain-http endpoint that is not
// loopback is refused at Open, before any request, whether it comes from
// endpoint= or from AWS_ENDPOINT_URL(_S3); loopback, https, anonymous
// stores and the opt-in in code are allowed.
func TestEndpointPolicy(t *testing.T) {
	canaryCredentials(t)
	refused := []struct{ url, env, envVal string }{
		{url: "s3://b?endpoint=http://s3.example.com&region=us-east-1"},
		{url: "s3://b?endpoint=http://10.1.2.3:9000&region=us-east-1&use_path_style=true"},
		{url: "s3://b?endpoint=http://127.0.0.1.nip.io:9000&region=us-east-1"},
		{url: "s3://b?region=us-east-1", env: "AWS_ENDPOINT_URL_S3", envVal: "http://s3.example.com"},
		{url: "s3://b?region=us-east-1", env: "AWS_ENDPOINT_URL", envVal: "http://s3.example.com:9000"},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.url+" "+tt.env, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv(tt.env, tt.envVal)
			}
			rec := &sink{}
			u, _ := url.Parse(tt.url)
			s, err := OpenURL(context.Background(), u, &Options{ClientOptions: &objstore.ClientOptions{Transport: rec}})
			if err == nil {
				s.Stat(context.Background(), "k")
				s.Close()
				t.Fatalf("Open succeeded; want ErrInvalidArgument")
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) {
				t.Errorf("got %v, want ErrInvalidArgument", err)
			}
			for _, w := range []string{"AllowInsecureEndpoint", "https", "loopback", "AWS request signatures"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not mention %q: %v", w, err)
				}
			}
			if tt.env != "" && !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_S3") {
				t.Errorf("the error does not say the endpoint came from the environment: %v", err)
			}
			if strings.Contains(err.Error(), canarySecret) {
				t.Errorf("the error shows the secret: %v", err)
			}
			if n := len(rec.requests()); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
	allowed := []struct {
		url   string
		opts  *objstore.ClientOptions
		signs bool
	}{
		{"s3://b?endpoint=http://127.0.0.1:9000&region=us-east-1", nil, true},
		{"s3://b?endpoint=http://127.9.9.9:9000&region=us-east-1", nil, true},
		{"s3://b?endpoint=http://[::1]:9000&region=us-east-1", nil, true},
		{"s3://b?endpoint=http://localhost:9000&region=us-east-1", nil, true},
		{"s3://b?endpoint=https://s3.example.com&region=us-east-1", nil, true},
		{"s3://b?endpoint=http://s3.example.com&region=us-east-1&anonymous=true", nil, false},
		{"s3://b?endpoint=http://s3.example.com&region=us-east-1", &objstore.ClientOptions{AllowInsecureEndpoint: true}, true},
	}
	for _, tt := range allowed {
		t.Run("allowed "+tt.url, func(t *testing.T) {
			rec := &sink{}
			co := objstore.ClientOptions{Transport: rec, Retry: objstore.RetryOptions{MaxRetries: -1}}
			if tt.opts != nil {
				co.AllowInsecureEndpoint = tt.opts.AllowInsecureEndpoint
			}
			u, _ := url.Parse(tt.url)
			s, err := OpenURL(context.Background(), u, &Options{ClientOptions: &co})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Stat(context.Background(), "k")
			reqs := rec.requests()
			if len(reqs) == 0 {
				t.Fatal("no request reached the transport")
			}
			auth := reqs[0].Header.Get("Authorization")
			if tt.signs != strings.Contains(auth, canaryKeyID) {
				t.Errorf("Authorization %q; signed: want %v", auth, tt.signs)
			}
		})
	}
}

// TestEndpointPolicyGlobalOptIn: SetDefaultClientOptions is code too.
func TestEndpointPolicyGlobalOptIn(t *testing.T) {
	canaryCredentials(t)
	old := objstore.DefaultClientOptions()
	objstore.SetDefaultClientOptions(objstore.ClientOptions{AllowInsecureEndpoint: true})
	t.Cleanup(func() { objstore.SetDefaultClientOptions(old) })
	s, err := objstore.Open(context.Background(), "s3://b?endpoint=http://s3.example.com&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestNoRedirectWithCredentials: a server on 127.0.0.1 redirects every
// request to 127.0.0.2 (another loopback address: another host). The
// store must not follow, so the recorder there sees no request, and so
// no signature or body.
func TestNoRedirectWithCredentials(t *testing.T) {
	canaryCredentials(t)
	testenv.NoRedirects(t, func(t *testing.T, endpoint string) objstore.Store {
		u, _ := url.Parse("s3://b?region=us-east-1&use_path_style=true&retries=0&endpoint=" + url.QueryEscape(endpoint))
		s, err := OpenURL(context.Background(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestEndpointFromEnvMinIO opens MinIO with AWS_ENDPOINT_URL_S3 (and
// AWS_ENDPOINT_URL) instead of endpoint=, and checks that the
// S3-compatible settings apply: checksums "when required", the default
// region, and that the store works.
func TestEndpointFromEnvMinIO(t *testing.T) {
	tu := testURL(t)
	ep := tu.Query().Get("endpoint")
	if ep == "" {
		t.Skipf("%s has no endpoint=", urlVar)
	}
	for _, v := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_S3", "")
			t.Setenv("AWS_ENDPOINT_URL", "")
			if v == "AWS_ENDPOINT_URL_S3" {
				// The service-specific variable wins over the global one.
				t.Setenv("AWS_ENDPOINT_URL", "http://192.0.2.1:9")
			}
			t.Setenv(v, ep)
			t.Setenv("AWS_REGION", "")
			t.Setenv("AWS_DEFAULT_REGION", "")
			u := *tu
			q := u.Query()
			q.Del("endpoint")
			q.Del("region")
			q.Set("use_path_style", "true")
			u.RawQuery = q.Encode()
			u.Path = "/endpoint-env-" + randomHex(6)
			s, err := OpenURL(context.Background(), &u, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			defer cleanup(t, s)
			o := s.b.client.Options()
			if o.BaseEndpoint == nil || *o.BaseEndpoint != ep {
				t.Errorf("BaseEndpoint %v, want %q", o.BaseEndpoint, ep)
			}
			if o.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired || o.ResponseChecksumValidation != aws.ResponseChecksumValidationWhenRequired {
				t.Errorf("checksums are not \"when required\": %v %v", o.RequestChecksumCalculation, o.ResponseChecksumValidation)
			}
			if o.Region != "us-east-1" {
				t.Errorf("region %q, want us-east-1", o.Region)
			}
			ctx := context.Background()
			a, err := s.Put(ctx, "k", strings.NewReader("hello"), nil)
			if err != nil {
				t.Fatal(err)
			}
			data, r, err := objstore.ReadAll(ctx, s, "k")
			if err != nil || string(data) != "hello" || r.ETag != a.ETag {
				t.Fatalf("ReadAll = %q, %+v, %v", data, r, err)
			}
		})
	}
}
