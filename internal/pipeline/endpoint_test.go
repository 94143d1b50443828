package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": true, "127.255.255.254": true, "::1": true,
		"localhost": true, "LOCALHOST": true, "localhost.": true, "minio.localhost": true,
		"::ffff:127.0.0.1": true,
		"":                 false, "128.0.0.1": false, "10.0.0.1": false, "0.0.0.0": false, "::": false,
		"192.168.1.10": false, "example.com": false, "localhost.example.com": false,
		"127.0.0.1.nip.io": false, "localhostx": false, "fe80::1": false, "s3.amazonaws.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	const creds = "test credentials"
	c := Config{Driver: "s3"}
	for _, tt := range []struct {
		endpoint, creds string
		allow, ok       bool
	}{
		{"https://s3.example.com", creds, false, true},
		{"HTTPS://s3.example.com", creds, false, true},
		{"http://127.0.0.1:9000", creds, false, true},
		{"http://127.3.4.5:9000/", creds, false, true},
		{"http://[::1]:10000/devstoreaccount1", creds, false, true},
		{"http://localhost:10000/devstoreaccount1", creds, false, true},
		{"http://s3.example.com", "", false, true},   // no credentials: nothing to leak
		{"http://s3.example.com", creds, true, true}, // opted in, in code
		{"http://s3.example.com", creds, false, false},
		{"http://10.0.0.5:9000", creds, false, false},
		{"http://[fe80::1]:9000", creds, false, false},
		{"http://127.0.0.1.nip.io:9000", creds, false, false},
		{"http://localhost.example.com:9000", creds, false, false},
	} {
		c.AllowInsecureEndpoint = tt.allow
		err := c.CheckEndpoint(tt.endpoint, tt.creds)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckEndpoint(%q, %q, allow=%v): %v; want nil", tt.endpoint, tt.creds, tt.allow, err)
			}
			continue
		}
		if !errors.Is(err, objstore.ErrInvalidArgument) {
			t.Errorf("CheckEndpoint(%q, %q): %v; want ErrInvalidArgument", tt.endpoint, tt.creds, err)
			continue
		}
		for _, w := range []string{creds, "AllowInsecureEndpoint", "https", "loopback"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("CheckEndpoint(%q): the error does not mention %q: %v", tt.endpoint, w, err)
			}
		}
	}
}

// TestAllowInsecureEndpointOnlyFromCode: the opt-in is in code (global or
// store options); no URL parameter or environment variable sets it.
func TestAllowInsecureEndpointOnlyFromCode(t *testing.T) {
	fakeEnv(t, map[string]string{"OBJSTORE_ALLOW_INSECURE_ENDPOINT": "true"})
	c, err := Resolve("s3", map[string]string{"allow_insecure_endpoint": "true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.AllowInsecureEndpoint {
		t.Error("the URL or the environment set AllowInsecureEndpoint")
	}
	for _, p := range Params {
		if strings.Contains(p, "insecure") {
			t.Errorf("pipeline parameter %q opts in from a URL", p)
		}
	}
	c, _ = Resolve("s3", nil, &objstore.ClientOptions{AllowInsecureEndpoint: true})
	if !c.AllowInsecureEndpoint {
		t.Error("ClientOptions.AllowInsecureEndpoint did not reach the Config")
	}
	globalOptions(t, objstore.ClientOptions{AllowInsecureEndpoint: true})
	if c, _ = Resolve("s3", nil, nil); !c.AllowInsecureEndpoint {
		t.Error("the global AllowInsecureEndpoint did not reach the Config")
	}
}
