package testenv

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

// Logs collects what the network drivers log, at Debug, for one test.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// CaptureLogs makes every store opened during the test log at Debug into
// the returned Logs, through the global client options, and restores
// them when the test ends.
func CaptureLogs(t testing.TB) *Logs {
	l := &Logs{}
	old := objstore.DefaultClientOptions()
	o := old
	o.Logger = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	objstore.SetDefaultClientOptions(o)
	t.Cleanup(func() { objstore.SetDefaultClientOptions(old) })
	return l
}

// signatures match what a signed request carries: a SigV4 Signature= or
// X-Amz-Signature=, a SAS sig=, a SharedKey signature; each followed by
// something other than REDACTED.
var signatures = regexp.MustCompile(`(?i)(signature=|sig=|sharedkey [^:\s]+:)([^R\s&"][^\s&"]{8,})`)

// CheckNoSecrets fails the test if logs show any of secrets (canary
// values, or the real keys of the test servers) or any request signature;
// it also fails if nothing was logged at Debug, Info and Warn levels,
// which would make the check vacuous.
func CheckNoSecrets(t testing.TB, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%d bytes, starting %q) shows in the logs", len(s), s[:min(3, len(s))])
		}
	}
	if m := signatures.FindString(logs); m != "" {
		t.Errorf("a signature shows in the logs: %q", m)
	}
	for _, level := range []string{"level=DEBUG", "level=INFO"} {
		if !strings.Contains(logs, level) {
			t.Errorf("nothing was logged at %s; the check proves nothing", level)
		}
	}
}
