package azure

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

// The canaries are secrets no error and no printed value may contain.
const (
	canary    = "CANARY-sEcReT-5c1e"
	canarySig = "CANARYsig5c1e"
)

var (
	canaryKey = base64.StdEncoding.EncodeToString([]byte(canary + "-account-key-bytes"))
	canarySAS = "sv=2024-08-04&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&spr=https,http&sig=" + canarySig
)

// noCanary fails the test if any text contains a canary.
func noCanary(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, c := range []string{canary, canaryKey, canarySig} {
			if strings.Contains(s, c) {
				t.Errorf("%s contains a secret: %s", what, s)
			}
		}
	}
}

func printed(v any) []string {
	return []string{fmt.Sprint(v), fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v)}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestResolveCredential(t *testing.T) {
	tests := []struct {
		name              string
		credential        string
		account, endpoint string
		env               map[string]string
		// on success
		kind    credKind
		service string
		source  string
		sas     string
		// on failure: the error names all of these
		errWants []string
	}{
		{
			name: "key", credential: "PROD", account: "acct",
			env:  map[string]string{"AZSTORE_PROD_KEY": canaryKey},
			kind: credSharedKey, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_PROD_KEY",
		},
		{
			name: "key name upper-cased", credential: "prod_2", account: "acct",
			env:  map[string]string{"AZSTORE_PROD_2_KEY": canaryKey},
			kind: credSharedKey, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_PROD_2_KEY",
		},
		{
			name: "key with endpoint", credential: "X", account: "devstoreaccount1", endpoint: "http://127.0.0.1:10000/devstoreaccount1",
			env:  map[string]string{"AZSTORE_X_KEY": canaryKey},
			kind: credSharedKey, service: "http://127.0.0.1:10000/devstoreaccount1/", source: "AZSTORE_X_KEY",
		},
		{
			name: "key account from endpoint", credential: "X", endpoint: "https://acct.blob.core.usgovcloudapi.net",
			env:  map[string]string{"AZSTORE_X_KEY": canaryKey},
			kind: credSharedKey, service: "https://acct.blob.core.usgovcloudapi.net/", source: "AZSTORE_X_KEY",
		},
		{
			name: "key without account", credential: "X", endpoint: "http://127.0.0.1:10000/devstoreaccount1",
			env:      map[string]string{"AZSTORE_X_KEY": canaryKey},
			errWants: []string{"AZSTORE_X_KEY", "account="},
		},
		{
			name: "key not base64", credential: "X", account: "acct",
			env:      map[string]string{"AZSTORE_X_KEY": canary + "!!"},
			errWants: []string{"AZSTORE_X_KEY", "base64"},
		},
		{
			name: "key wins over SAS", credential: "X", account: "acct",
			env:  map[string]string{"AZSTORE_X_KEY": canaryKey, "AZSTORE_X_SAS": canarySAS},
			kind: credSharedKey, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_X_KEY",
		},
		{
			name: "empty key is unset", credential: "X", account: "acct",
			env:  map[string]string{"AZSTORE_X_KEY": " ", "AZSTORE_X_SAS": canarySAS},
			kind: credSAS, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_X_SAS", sas: canarySAS,
		},
		{
			name: "nothing set", credential: "X", account: "acct",
			env:      map[string]string{},
			errWants: []string{"AZSTORE_X_KEY", "AZSTORE_X_CONNECTION_STRING", "AZSTORE_X_SAS", "DefaultAzureCredential"},
		},
		{
			name: "bad name", credential: "a-b", account: "acct",
			env:      map[string]string{},
			errWants: []string{"credential=", "letters, digits"},
		},
		{
			name: "connection string with key", credential: "CS",
			env:  map[string]string{"AZSTORE_CS_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + canaryKey + ";EndpointSuffix=core.windows.net"},
			kind: credSharedKey, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_CS_CONNECTION_STRING",
		},
		{
			name: "connection string with BlobEndpoint", credential: "CS",
			env:  map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=devstoreaccount1;AccountKey=" + canaryKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"},
			kind: credSharedKey, service: "http://127.0.0.1:10000/devstoreaccount1/", source: "AZSTORE_CS_CONNECTION_STRING",
		},
		{
			name: "connection string with SAS", credential: "CS",
			env:  map[string]string{"AZSTORE_CS_CONNECTION_STRING": "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=" + canarySAS},
			kind: credSAS, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_CS_CONNECTION_STRING", sas: canarySAS,
		},
		{
			name: "connection string development storage", credential: "CS",
			env:  map[string]string{"AZSTORE_CS_CONNECTION_STRING": "UseDevelopmentStorage=true"},
			kind: credSharedKey, service: "http://127.0.0.1:10000/devstoreaccount1/", source: "AZSTORE_CS_CONNECTION_STRING",
		},
		{
			name: "connection string endpoint agrees", credential: "CS", endpoint: "http://127.0.0.1:10000/devstoreaccount1/",
			env:  map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=devstoreaccount1;AccountKey=" + canaryKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"},
			kind: credSharedKey, service: "http://127.0.0.1:10000/devstoreaccount1/", source: "AZSTORE_CS_CONNECTION_STRING",
		},
		{
			name: "connection string malformed", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;" + canary},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "part 2"},
		},
		{
			name: "connection string without secret", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;EndpointSuffix=core.windows.net"},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "AccountKey", "SharedAccessSignature"},
		},
		{
			name: "connection string key not base64", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;AccountKey=" + canary + "!!"},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "base64"},
		},
		{
			name: "connection string key without account", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountKey=" + canaryKey + ";BlobEndpoint=http://127.0.0.1:10000/x"},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "AccountName"},
		},
		{
			name: "connection string account differs", credential: "CS", account: "other",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;AccountKey=" + canaryKey},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "differ"},
		},
		{
			name: "connection string endpoint differs", credential: "CS", endpoint: "https://other.blob.core.windows.net",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;AccountKey=" + canaryKey + ";BlobEndpoint=https://acct.blob.core.windows.net"},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "differ"},
		},
		{
			name: "connection string SAS without endpoint", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "SharedAccessSignature=" + canarySAS},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "BlobEndpoint"},
		},
		{
			name: "connection string bad SAS", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&x=" + canary},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "SAS"},
		},
		{
			name: "connection string bad BlobEndpoint", credential: "CS",
			env:      map[string]string{"AZSTORE_CS_CONNECTION_STRING": "AccountName=acct;AccountKey=" + canaryKey + ";BlobEndpoint=https://acct.blob.core.windows.net/?sig=" + canarySig},
			errWants: []string{"AZSTORE_CS_CONNECTION_STRING", "BlobEndpoint"},
		},
		{
			name: "SAS", credential: "S", account: "acct",
			env:  map[string]string{"AZSTORE_S_SAS": "?" + canarySAS},
			kind: credSAS, service: "https://acct.blob.core.windows.net/", source: "AZSTORE_S_SAS", sas: canarySAS,
		},
		{
			name: "SAS with endpoint", credential: "S", endpoint: "http://127.0.0.1:10000/devstoreaccount1",
			env:  map[string]string{"AZSTORE_S_SAS": canarySAS},
			kind: credSAS, service: "http://127.0.0.1:10000/devstoreaccount1/", source: "AZSTORE_S_SAS", sas: canarySAS,
		},
		{
			name: "SAS without sig", credential: "S", account: "acct",
			env:      map[string]string{"AZSTORE_S_SAS": "sv=2024-08-04&sp=r&x=" + canary},
			errWants: []string{"AZSTORE_S_SAS", "sig="},
		},
		{
			name: "SAS without account or endpoint", credential: "S",
			env:      map[string]string{"AZSTORE_S_SAS": canarySAS},
			errWants: []string{"account=", "endpoint="},
		},
		{
			name: "default credential", account: "acct",
			kind: credToken, service: "https://acct.blob.core.windows.net/", source: "DefaultAzureCredential",
		},
		{
			name: "default credential over http", endpoint: "http://127.0.0.1:10000/devstoreaccount1",
			errWants: []string{"http://", "credential=NAME"},
		},
		{
			name:     "default credential without account",
			errWants: []string{"account="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := resolveCredential(tt.credential, tt.account, tt.endpoint, env(tt.env))
			if tt.errWants != nil {
				if err == nil {
					t.Fatalf("resolveCredential succeeded with %v; want an error", cfg)
				}
				if !errors.Is(err, objstore.ErrInvalidArgument) {
					t.Errorf("got %v, want ErrInvalidArgument", err)
				}
				for _, w := range tt.errWants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the error does not mention %q: %v", w, err)
					}
				}
				noCanary(t, "the error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("resolveCredential: %v", err)
			}
			if cfg.kind != tt.kind || cfg.serviceURL != tt.service || cfg.source != tt.source || cfg.sas != tt.sas {
				t.Errorf("got kind %d service %q source %q sas %q; want %d %q %q %q",
					cfg.kind, cfg.serviceURL, cfg.source, cfg.sas, tt.kind, tt.service, tt.source, tt.sas)
			}
			if (cfg.key != nil) != (tt.kind == credSharedKey) {
				t.Errorf("shared key credential present: %v, want %v", cfg.key != nil, tt.kind == credSharedKey)
			}
			noCanary(t, "the printed config", printed(cfg)...)
		})
	}
}

// TestOpenPrintsNoSecret opens stores with each kind of credential and
// checks that printing the store, in any way, shows no secret.
func TestOpenPrintsNoSecret(t *testing.T) {
	t.Setenv("AZSTORE_CK_KEY", canaryKey)
	t.Setenv("AZSTORE_CCS_CONNECTION_STRING", "AccountName=acct;AccountKey="+canaryKey)
	t.Setenv("AZSTORE_CS_SAS", canarySAS)
	opts := &Options{Copy: CopyStream, BlockSize: 1 << 20}
	for _, raw := range []string{
		"azblob://box/p?account=acct&credential=CK",
		"azblob://box/p?credential=ccs",
		"azblob://box/p?account=acct&credential=CS&copy=server",
		"azblob://box/p?account=acct",
	} {
		s, err := Open(context.Background(), raw, opts)
		if err != nil {
			t.Fatalf("Open(%s): %v", raw, err)
		}
		if got := s.String(); got != "azblob://box/p/" {
			t.Errorf("String() = %q", got)
		}
		noCanary(t, "the printed store", printed(s)...)
		noCanary(t, "the printed options", printed(opts)...)
		s.Close()
	}
}

func TestOpenURLErrors(t *testing.T) {
	t.Setenv("AZSTORE_T_KEY", canaryKey)
	tests := []struct {
		url   string
		wants []string
	}{
		{"azblob://box?account=acct&credential=T&bogus=1", []string{`"bogus"`, "account", "credential"}},
		{"azblob://box?account=acct&credential=T&copy=fast", []string{"copy=", "auto, stream or server"}},
		{"azblob://box?account=acct&credential=T&block_size=0", []string{"block_size="}},
		{"azblob://box?account=acct&credential=T&block_size=5000MiB", []string{"block_size=", "4000MiB"}},
		{"azblob://box?account=acct&credential=T&block_size=8MB", []string{"block_size="}},
		{"azblob://box?account=acct&credential=T&concurrency=0", []string{"concurrency="}},
		{"azblob://box?account=acct&credential=T&concurrency=x", []string{"concurrency="}},
		{"azblob://box?account=Acct&credential=T", []string{"account=", "lowercase"}},
		{"azblob://box?credential=T&endpoint=ftp://x", []string{"endpoint="}},
		{"azblob://box?credential=T&endpoint=https://acct.blob.core.windows.net/%3Fsig%3D" + canarySig, nil},
		{"azblob://bo?account=acct&credential=T", []string{"container name", "3 to 63"}},
		{"azblob://Box?account=acct&credential=T", nil},
		{"azblob://a--b?account=acct&credential=T", []string{"hyphen"}},
		{"azblob://box_1?account=acct&credential=T", []string{"container name"}},
		{"azblob:///p?account=acct&credential=T", []string{"no container"}},
		{"azblob://box/a//b?account=acct&credential=T", []string{"prefix"}},
		{"s3://box?account=acct", []string{"scheme"}},
		{"azblob://user:" + canary + "@box?account=acct", []string{"user information"}},
		{"azblob://box?account=acct#frag", []string{"fragment"}},
		{"azblob://bad%zzhost/x", []string{"malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := Open(context.Background(), tt.url, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded; want ErrInvalidArgument")
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) {
				t.Errorf("got %v, want ErrInvalidArgument", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not mention %q: %v", w, err)
				}
			}
			noCanary(t, "the error", err.Error())
		})
	}
}

// TestOpenSecretParams checks the credential hint of a secret in the URL.
func TestOpenSecretParams(t *testing.T) {
	for _, p := range []string{"key", "sas", "sig", "AccountKey", "connection_string", "account_key"} {
		_, err := Open(context.Background(), "azblob://box?account=acct&"+p+"="+canary, nil)
		if !errors.Is(err, objstore.ErrInvalidArgument) {
			t.Fatalf("%s=: got %v, want ErrInvalidArgument", p, err)
		}
		for _, w := range []string{"AZSTORE_<NAME>_KEY", "AZSTORE_<NAME>_CONNECTION_STRING", "AZSTORE_<NAME>_SAS", "DefaultAzureCredential", "secret"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s=: the error does not mention %q: %v", p, w, err)
			}
		}
		noCanary(t, "the error", err.Error())
	}
	_, err := Open(context.Background(), "azblob://box?account=acct&endpoint=https://acct.blob.core.windows.net/?sig="+canarySig, nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "AZSTORE_") {
		t.Errorf("an endpoint with a query: got %v", err)
	}
	noCanary(t, "the error", fmt.Sprint(err))
}

func TestOpenURLValues(t *testing.T) {
	t.Setenv("AZSTORE_T_KEY", canaryKey)
	s, err := Open(context.Background(), "azblob://box/a/b/?account=acct&credential=T&copy=stream&block_size=3MiB&concurrency=7", &Options{BlockSize: 1, Concurrency: 1, Copy: CopyServer})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.b.opts.Copy != CopyStream || s.b.opts.BlockSize != 3<<20 || s.b.opts.Concurrency != 7 {
		t.Errorf("the URL's parameters did not override the options: %+v", s.b.opts)
	}
	if s.b.prefix != "a/b/" || s.b.container != "box" {
		t.Errorf("prefix %q container %q", s.b.prefix, s.b.container)
	}
	if got := s.ContainerClient().URL(); got != "https://acct.blob.core.windows.net/box" {
		t.Errorf("the container URL is %q", got)
	}
	if s.b.key == nil || s.b.pipe == nil {
		t.Errorf("the store lacks its key or its transport")
	}
	for _, tt := range []struct {
		v    string
		want int64
	}{{"1", 1}, {"512KiB", 512 << 10}, {"8MiB", 8 << 20}, {"1GiB", 1 << 30}, {"4000MiB", 4000 << 20}} {
		if got, err := parseSize("block_size", tt.v); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.v, got, err, tt.want)
		}
	}
}
