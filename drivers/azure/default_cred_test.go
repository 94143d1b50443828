package azure_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// TestDefaultCredential opens a store without credential=, so that it
// authenticates with azidentity's DefaultAzureCredential, limited by
// AZURE_TOKEN_CREDENTIALS to the environment, which is empty: the first
// request fails, before anything is sent, with ErrUnauthenticated. (A test
// that obtains a token needs Entra ID, which Azurite does not offer
// without an OAuth and HTTPS setup.)
func TestDefaultCredential(t *testing.T) {
	for _, v := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
	s, err := azure.Open(context.Background(), "azblob://box?endpoint=https://127.0.0.1:1/acct", &azure.Options{ClientOptions: &objstore.ClientOptions{ConnectTimeout: time.Second}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	_, err = s.Stat(context.Background(), "k")
	if !errors.Is(err, objstore.ErrUnauthenticated) {
		t.Errorf("got %v, want ErrUnauthenticated", err)
	}
	if !strings.Contains(err.Error(), "AZURE_TENANT_ID") || !strings.Contains(err.Error(), "credential=NAME") {
		t.Errorf("the error does not say what is missing and what else to do: %v", err)
	}
}
