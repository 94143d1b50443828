package s3_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
)

// Credentials from the environment never show in a Store's formatting or
// in its errors.
func TestSecretsNeverShow(t *testing.T) {
	const keyID, secret, token = "AKIACANARYKEYID12345", "CANARY/secret+value/abcdef0123456789", "CANARY-session-token-xyz"
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Nothing listens on port 1: every request fails, and the errors are
	// checked as well.
	s, err := objstore.Open(ctx, "s3://bucket/p?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var texts []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		texts = append(texts, fmt.Sprintf(f, s))
	}
	_, err = s.Stat(ctx, "k")
	texts = append(texts, fmt.Sprint(err), fmt.Sprintf("%+v", err))
	_, err = s.Put(ctx, "k", strings.NewReader("x"), nil)
	texts = append(texts, fmt.Sprint(err))
	for _, text := range texts {
		for _, c := range []string{secret, token} {
			if strings.Contains(text, c) {
				t.Errorf("a secret shows in %q", text)
			}
		}
	}
}
