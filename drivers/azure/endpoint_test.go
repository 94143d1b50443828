package azure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/testenv"
)

// sink records the requests that reach it and answers 404.
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

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// TestEndpointPolicy: every azblob store attaches a credential, so a plain
// http endpoint that is not loopback is refused at Open, before any
// request, whether it comes from endpoint= or from a connection string;
// loopback, https and the opt-in in code are allowed.
func TestEndpointPolicy(t *testing.T) {
	t.Setenv("AZSTORE_T_KEY", canaryKey)
	t.Setenv("AZSTORE_S_SAS", "sv=2020&sig="+canarySig)
	t.Setenv("AZSTORE_CS_CONNECTION_STRING", "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey="+canaryKey)
	t.Setenv("AZSTORE_CSB_CONNECTION_STRING", "BlobEndpoint=http://azurite.example.com:10000/acct;SharedAccessSignature=sv=2020&sig="+canarySig)
	for _, tt := range []struct{ url, creds string }{
		{"azblob://box?endpoint=http://azurite.example.com:10000/devstoreaccount1&credential=T", "SharedKey"},
		{"azblob://box?endpoint=http://10.0.0.7:10000/devstoreaccount1&credential=T", "SharedKey"},
		{"azblob://box?endpoint=http://acct.blob.core.windows.net&credential=S", "SAS"},
		{"azblob://box?credential=CS", "SharedKey"},
		{"azblob://box?credential=CSB", "SAS"},
	} {
		t.Run("refused "+tt.url, func(t *testing.T) {
			rec := &sink{}
			s, err := Open(context.Background(), tt.url, &Options{ClientOptions: &objstore.ClientOptions{Transport: rec}})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded; want ErrInvalidArgument")
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) {
				t.Errorf("got %v, want ErrInvalidArgument", err)
			}
			for _, w := range []string{tt.creds, "AllowInsecureEndpoint", "https", "loopback"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not mention %q: %v", w, err)
				}
			}
			noCanary(t, "the error", err.Error())
			if n := rec.count(); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
	for _, tt := range []struct {
		url   string
		allow bool
	}{
		{"azblob://box?endpoint=http://127.0.0.1:10000/devstoreaccount1&credential=T", false},
		{"azblob://box?endpoint=http://[::1]:10000/devstoreaccount1&credential=T", false},
		{"azblob://box?endpoint=http://localhost:10000/devstoreaccount1&credential=S", false},
		{"azblob://box?account=acct&credential=T", false},
		{"azblob://box?endpoint=https://azurite.example.com/acct&credential=T", false},
		{"azblob://box?endpoint=http://azurite.example.com:10000/devstoreaccount1&credential=T", true},
		{"azblob://box?credential=CS", true},
	} {
		t.Run("allowed "+tt.url, func(t *testing.T) {
			rec := &sink{}
			co := &objstore.ClientOptions{Transport: rec, AllowInsecureEndpoint: tt.allow, Retry: objstore.RetryOptions{MaxRetries: -1}}
			s, err := Open(context.Background(), tt.url, &Options{ClientOptions: co})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Stat(context.Background(), "k")
			if rec.count() == 0 {
				t.Error("no request reached the transport")
			}
		})
	}
}

// TestNoRedirectWithCredentials: a server on 127.0.0.1 redirects every
// request to 127.0.0.2 (another loopback address: another host). The
// store must not follow, so the recorder there sees no request, and so
// neither the SharedKey signature nor the SAS.
func TestNoRedirectWithCredentials(t *testing.T) {
	t.Setenv("AZSTORE_T_KEY", canaryKey)
	t.Setenv("AZSTORE_S_SAS", "sv=2020&sig="+canarySig)
	for _, cred := range []string{"T", "S"} {
		t.Run(cred, func(t *testing.T) {
			testenv.NoRedirects(t, func(t *testing.T, endpoint string) objstore.Store {
				raw := "azblob://box?retries=0&credential=" + cred + "&endpoint=" + url.QueryEscape(endpoint+"/devstoreaccount1")
				s, err := Open(context.Background(), raw, nil)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
