package azure_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/testenv"
)

// backend describes the Azurite (or Azure) account behind
// OBJSTORE_TEST_AZURE_URL.
type backend struct {
	url       string // OBJSTORE_TEST_AZURE_URL
	container string
	endpoint  string // the endpoint parameter, or the public one
	account   string
	key       string // the account key, read from the variable the URL names
}

func testBackend(t testing.TB) backend {
	t.Helper()
	raw := testenv.URL(t, azureURLVar)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parsing %s: %v", azureURLVar, err)
	}
	q := u.Query()
	b := backend{url: raw, container: u.Host, endpoint: q.Get("endpoint"), account: q.Get("account")}
	if b.endpoint == "" {
		b.endpoint = "https://" + b.account + ".blob.core.windows.net"
	}
	name := q.Get("credential")
	if name == "" {
		t.Skipf("%s has no credential=; these tests need an account key", azureURLVar)
	}
	b.key = os.Getenv("AZSTORE_" + strings.ToUpper(name) + "_KEY")
	if b.key == "" {
		t.Skipf("%s names credential=%s, but AZSTORE_%s_KEY is not set; these tests need an account key", azureURLVar, name, strings.ToUpper(name))
	}
	return b
}

// client returns an SDK client with the account key.
func (b backend) client(t testing.TB) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(b.account, b.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(b.endpoint, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sas returns an account SAS for the blob service with the given
// permissions (sas.AccountPermissions letters).
func (b backend) sas(t testing.TB, perms sas.AccountPermissions) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(b.account, b.key)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Hour).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return qp.Encode()
}

// storeURL returns an azblob URL on the test container under a fresh
// prefix, with credential=name and extra parameters.
func (b backend) storeURL(t testing.TB, name string, kv ...string) string {
	t.Helper()
	raw := fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s", b.container, randomPrefix(t), url.QueryEscape(b.endpoint), b.account)
	if name != "" {
		raw += "&credential=" + name
	}
	return withParams(t, raw, kv...)
}

func randomPrefix(t testing.TB) string {
	var r [6]byte
	rand.Read(r[:])
	return "azure-driver-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + hex.EncodeToString(r[:])
}

func open(t testing.TB, raw string, opts *azure.Options) *azure.Store {
	t.Helper()
	s, err := azure.Open(context.Background(), raw, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { cleanup(s); s.Close() })
	return s
}

// cleanup deletes what a test wrote under its store's prefix.
func cleanup(s objstore.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for e, err := range s.List(ctx, nil) {
		if err != nil {
			return
		}
		s.Delete(ctx, e.Key)
	}
}

// roundTrip exercises every operation once.
func roundTrip(t *testing.T, s objstore.Store) {
	t.Helper()
	ctx := context.Background()
	a, err := s.Put(ctx, "k", strings.NewReader("hello"), &objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"Who": "me"}})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	data, r, err := objstore.ReadAll(ctx, s, "k")
	if err != nil || string(data) != "hello" || r.ETag != a.ETag || r.Metadata["who"] != "me" {
		t.Fatalf("ReadAll = %q %+v %v", data, r, err)
	}
	c, err := s.Copy(ctx, "k2", "k", nil)
	if err != nil || c.ContentType != "text/plain" {
		t.Fatalf("Copy = %+v, %v", c, err)
	}
	n := 0
	for _, err := range s.List(ctx, nil) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("List saw %d objects, want 2", n)
	}
	for _, k := range []string{"k", "k2", "missing"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Errorf("Delete(%s): %v", k, err)
		}
	}
}

// TestCredentialsAzurite opens the test account with every kind of
// credential and runs each operation once.
func TestCredentialsAzurite(t *testing.T) {
	b := testBackend(t)
	all := sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true}
	tests := []struct {
		name string
		env  string // the variable
		val  string
		kv   []string // extra URL parameters
	}{
		{"KEY", "AZSTORE_T1_KEY", b.key, nil},
		{"CONNECTION_STRING key", "AZSTORE_T2_CONNECTION_STRING",
			fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", b.account, b.key, b.endpoint), nil},
		{"CONNECTION_STRING SAS", "AZSTORE_T3_CONNECTION_STRING",
			fmt.Sprintf("BlobEndpoint=%s;SharedAccessSignature=%s", b.endpoint, b.sas(t, all)), nil},
		{"SAS", "AZSTORE_T4_SAS", b.sas(t, all), nil},
		{"SAS server copy", "AZSTORE_T5_SAS", b.sas(t, all), []string{"copy", "server"}},
		{"KEY server copy", "AZSTORE_T6_KEY", b.key, []string{"copy", "server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.val)
			name := strings.TrimPrefix(tt.env, "AZSTORE_")
			name = name[:strings.Index(name, "_")]
			s := open(t, b.storeURL(t, strings.ToLower(name), tt.kv...), nil)
			roundTrip(t, s)
		})
	}
}

// TestAuthErrorsAzurite provokes authentication and permission failures
// for real, and checks their classes and that no secret leaks.
func TestAuthErrorsAzurite(t *testing.T) {
	b := testBackend(t)
	ctx := context.Background()
	wrongKey := base64.StdEncoding.EncodeToString([]byte("CANARY-wrong-key-0123456789abcdefghijklmnopqrstuvwxyz"))
	t.Setenv("AZSTORE_WRONG_KEY", wrongKey)
	// A SAS whose signature is wrong.
	goodSAS := b.sas(t, sas.AccountPermissions{Read: true, List: true})
	q, _ := url.ParseQuery(goodSAS)
	q.Set("sig", "CANARYsig"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	t.Setenv("AZSTORE_BADSIG_SAS", q.Encode())
	// A SAS that may only read and list.
	t.Setenv("AZSTORE_READONLY_SAS", goodSAS)

	check := func(t *testing.T, err error, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("got %v, want %v", err, want)
		}
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			t.Errorf("errors.As does not reach *azcore.ResponseError through %v", err)
		}
		if strings.Contains(fmt.Sprint(err), "CANARY") {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
	t.Run("wrong key", func(t *testing.T) {
		s := open(t, b.storeURL(t, "wrong"), nil)
		_, err := s.Stat(ctx, "k")
		check(t, err, objstore.ErrUnauthenticated)
		if !strings.Contains(err.Error(), "AZSTORE_WRONG_KEY") {
			t.Errorf("the error does not name the variable the key came from: %v", err)
		}
		_, err = s.Put(ctx, "k", strings.NewReader("x"), nil)
		check(t, err, objstore.ErrUnauthenticated)
		for _, err := range s.List(ctx, nil) {
			check(t, err, objstore.ErrUnauthenticated)
		}
	})
	t.Run("wrong SAS signature", func(t *testing.T) {
		s := open(t, b.storeURL(t, "badsig"), nil)
		_, err := s.Get(ctx, "k", nil)
		check(t, err, objstore.ErrUnauthenticated)
	})
	t.Run("read-only SAS", func(t *testing.T) {
		s := open(t, b.storeURL(t, "readonly"), nil)
		_, err := s.Put(ctx, "k", strings.NewReader("x"), nil)
		check(t, err, objstore.ErrPermission)
		_, err = s.Stat(ctx, "k")
		check(t, err, objstore.ErrNotFound)
	})
}

// TestNotModifiedAzurite checks the 304 paths against the server: azblob
// returns a 304 to Get Blob as a response without error.
func TestNotModifiedAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx := context.Background()
	a, err := s.Put(ctx, "k", strings.NewReader("0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*objstore.Range{nil, {Offset: 0, Length: 3}, {Offset: 4, Length: 3}, {Offset: 4, Length: 0}, {Offset: 10, Length: 1}} {
		_, err := s.Get(ctx, "k", &objstore.GetOptions{IfNoneMatch: a.ETag, Range: r})
		if !errors.Is(err, objstore.ErrNotModified) {
			t.Errorf("Get IfNoneMatch the current ETag, Range %+v: got %v, want ErrNotModified", r, err)
		}
	}
	// Reading a matched object works, and the body is exact.
	rd, err := s.Get(ctx, "k", &objstore.GetOptions{IfNoneMatch: `"other"`, Range: &objstore.Range{Offset: 4, Length: 3}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	rd.Close()
	if err != nil || string(got) != "456" || rd.Attrs.Size != 10 {
		t.Errorf("a range read %q (Size %d), %v", got, rd.Attrs.Size, err)
	}
}

// credName returns the credential parameter of the test URL.
func credName(t testing.TB, b backend) string {
	u, _ := url.Parse(b.url)
	return u.Query().Get("credential")
}

// TestNewAzurite builds stores with New around SDK clients: one with the
// account key, one with a SAS in its URL. Server-side copy works with
// both: the first signs a SAS for the source, the second reuses its own.
func TestNewAzurite(t *testing.T) {
	b := testBackend(t)
	all := sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true}
	sasClient, err := azblob.NewClientWithNoCredential(b.endpoint+"?"+b.sas(t, all), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, client := range map[string]*azblob.Client{"key": b.client(t), "sas": sasClient} {
		for _, mode := range []azure.CopyStrategy{azure.CopyServer, azure.CopyStream} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				s, err := azure.New(client, b.container, &azure.Options{Prefix: randomPrefix(t), Copy: mode})
				if err != nil {
					t.Fatal(err)
				}
				defer func() { cleanup(s); s.Close() }()
				roundTrip(t, s)
			})
		}
	}
	if _, err := azure.New(nil, b.container, nil); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("New(nil): %v", err)
	}
	if _, err := azure.New(b.client(t), "Bad_Name", nil); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("New with a bad container name: %v", err)
	}
	if _, err := azure.New(b.client(t), b.container, &azure.Options{Prefix: "a//b"}); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("New with a bad prefix: %v", err)
	}
}
