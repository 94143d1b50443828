package azure

import (
	"errors"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestEmulatorAccount(t *testing.T) {
	tests := []struct {
		account, endpoint, want string
		fail                    bool
	}{
		{"", "", "", false},
		{"acct", "", "acct", false},
		{"", "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", false},
		{"", "http://127.0.0.1:10000/devstoreaccount1/", "devstoreaccount1", false},
		{"devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", false},
		{"other1", "http://127.0.0.1:10000/devstoreaccount1", "", true},
		{"", "https://acct.blob.core.windows.net", "", false},            // the host names it; keyConfig reads that
		{"", "https://azurite.internal:10000/a/b", "", false},            // two segments: not an account
		{"", "https://azurite.internal:10000/Not_An_Account", "", false}, // not an account name
		{"mine", "https://proxy.example.com/", "mine", false},
	}
	for _, tt := range tests {
		got, err := emulatorAccount(tt.account, tt.endpoint)
		if tt.fail {
			if !errors.Is(err, objstore.ErrInvalidArgument) {
				t.Errorf("emulatorAccount(%q, %q) = %q, %v; want ErrInvalidArgument", tt.account, tt.endpoint, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("emulatorAccount(%q, %q) = %q, %v; want %q", tt.account, tt.endpoint, got, err, tt.want)
		}
	}
}
