package azure_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// TestEmulatorURLAzurite opens Azurite with the account named only by the
// endpoint's path (no account=), and with a conflicting account=.
func TestEmulatorURLAzurite(t *testing.T) {
	b := testBackend(t)
	ep, err := url.Parse(b.endpoint)
	if err != nil || strings.Trim(ep.Path, "/") != b.account {
		t.Skipf("the test endpoint %q does not name the account %q in its path", b.endpoint, b.account)
	}
	t.Setenv("AZSTORE_EMU_KEY", b.key)
	raw := fmt.Sprintf("azblob://%s/%s?endpoint=%s&credential=emu", b.container, randomPrefix(t), url.QueryEscape(b.endpoint))
	t.Run("NoAccount", func(t *testing.T) {
		roundTrip(t, open(t, raw, nil))
	})
	t.Run("SameAccount", func(t *testing.T) {
		roundTrip(t, open(t, raw+"&account="+b.account, nil))
	})
	t.Run("OtherAccount", func(t *testing.T) {
		s, err := azure.Open(context.Background(), raw+"&account=otheraccount1", nil)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded; want ErrInvalidArgument")
		}
		if !errors.Is(err, objstore.ErrInvalidArgument) {
			t.Errorf("got %v, want ErrInvalidArgument", err)
		}
		for _, w := range []string{"account=otheraccount1", b.account} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("the error does not name %q: %v", w, err)
			}
		}
	})
}
