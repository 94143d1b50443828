package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
)

// budgetRetries is the MaxRetries of the budget cases: a Get, its
// resumptions included, makes at most budgetRetries+1 HTTP attempts.
const budgetRetries = 3

// budgetStallTimeout is the read timeout of the stall case. It bounds the
// wait for the first GET's headers too, which the server sends through
// the proxy before the stall, so it is well above a loaded server's time
// to answer.
const budgetStallTimeout = time.Second

// budgetCase is a case of rule R1 of docs/SEMANTICS.md, one retry budget
// per operation: faults on the GETs of an object read, and what the read
// may cost.
type budgetCase struct {
	name   string
	copy   bool    // the read is a Copy's, streaming its source; else a Get's
	faults []Fault // armed in order on the GETs of the object
	stall  bool    // the store's read timeout is budgetStallTimeout
	gets   int     // the GETs the proxy sees: exactly, or at most with stall
	ok     bool    // the operation succeeds
}

var budgetCases = []budgetCase{
	// A body that breaks once resumes, and one whose resumption fails
	// still heals within the budget.
	{name: "BreaksOnce", faults: []Fault{{Kind: ResetDownload, Times: 1}}, gets: 2, ok: true},
	{name: "HealsOnTheLastAttempt", faults: []Fault{{Kind: ResetDownload, Times: 1}, {Kind: Reset, Times: 2}},
		gets: budgetRetries + 1, ok: true},
	// A body that breaks every time: each resumption is an attempt.
	{name: "KeepsBreaking", faults: []Fault{{Kind: ResetDownload, Times: -1}}, gets: budgetRetries + 1},
	// A body that breaks, then a server that resets every connection: the
	// resumptions' retries are attempts too. With a budget per resumption
	// this was 1 + 3·4 = 13 GETs.
	{name: "BreaksThenResets", faults: []Fault{{Kind: ResetDownload, Times: 1}, {Kind: Reset, Times: -1}},
		gets: budgetRetries + 1},
	// A server that stops answering: the body stalls, then every GET
	// waits for headers until the read timeout.
	{name: "StopsAnswering", faults: []Fault{{Kind: StallDownload, Times: 1}, {Kind: Stall, Times: -1}},
		stall: true, gets: budgetRetries + 1},
	// The same for a copy that streams its source through the client.
	{name: "Copy/BreaksOnce", copy: true, faults: []Fault{{Kind: ResetDownload, Times: 1}}, gets: 2, ok: true},
	{name: "Copy/KeepsBreaking", copy: true, faults: []Fault{{Kind: ResetDownload, Times: -1}}, gets: budgetRetries + 1},
	{name: "Copy/BreaksThenResets", copy: true, faults: []Fault{{Kind: ResetDownload, Times: 1}, {Kind: Reset, Times: -1}},
		gets: budgetRetries + 1},
}

// Cases returns the IDs of the cases the matrix runs for rules of
// docs/SEMANTICS.md that only a network driver can show, such as
// "R1/KeepsBreaking": as conformance.Cases does for the conformance
// suite, so that the rules and their cases can be held to each other.
func Cases() []string {
	ids := make([]string, len(budgetCases))
	for i, c := range budgetCases {
		ids[i] = "R1/" + c.name
	}
	return ids
}

// runBudget runs the cases of rule R1, counting the GETs at the proxy.
// The Copy cases need OpenStreamCopy.
func (sc Matrix) runBudget(t *testing.T) {
	for _, c := range budgetCases {
		t.Run(c.name, func(t *testing.T) {
			if c.copy && sc.OpenStreamCopy == nil {
				t.Skipf("%s copies on the server: no object read to resume", sc.Driver)
			}
			t.Parallel()
			co := options()
			co.Retry.MaxRetries = budgetRetries
			if c.stall {
				co.ReadTimeout = budgetStallTimeout
			}
			key := keyFor(t)
			data := random(256 << 10)
			if _, err := sc.Direct.Put(t.Context(), key, bytes.NewReader(data), nil); err != nil {
				t.Fatalf("writing the object: %v", err)
			}
			p := NewFaults(t, sc.Endpoint, sc.RewriteHost)
			open := sc.Open
			if c.copy {
				open = sc.OpenStreamCopy
			}
			s := open(t, p.URL(), co)
			target := Fault{Method: http.MethodGet, PathSuffix: "/" + key}
			for _, f := range c.faults {
				f.Method, f.PathSuffix = target.Method, target.PathSuffix
				p.Arm(f)
			}

			var err error
			dst := key + ".copy"
			if c.copy {
				_, err = s.Copy(t.Context(), dst, key, nil)
				if err == nil {
					sc.checkObject(t, dst, data, "")
				}
			} else {
				err = readBack(t, s, key, data)
			}

			seen := p.Matching(target)
			if c.stall {
				// A GET the client gave up on before the proxy read its
				// headers is not seen.
				if len(seen) < 2 || len(seen) > c.gets {
					t.Errorf("the proxy saw %d GETs; want 2 to %d (MaxRetries %d + 1)", len(seen), c.gets, budgetRetries)
				}
			} else if len(seen) != c.gets {
				t.Errorf("the proxy saw %d GETs; want %d", len(seen), c.gets)
			}
			first, resumed := split(seen)
			switch {
			case len(first) == 0:
				t.Errorf("the proxy saw no GET without If-Match: the Get's own request is missing")
			case len(resumed) > 0:
				sc.checkResumed(t, append(first[len(first)-1:], resumed...))
			case c.stall:
				// The first GET's headers, which come through the proxy
				// before the stall, took longer than the read timeout:
				// every attempt was the first request's.
				t.Logf("the first GET had no answer within the read timeout: %d attempts of it, no resumption", len(first))
			default:
				t.Errorf("the proxy saw %d GETs, none a resumption", len(seen))
			}
			if !c.stall && len(first) != 1 {
				t.Errorf("the first GET was sent %d times; want once, its body cut", len(first))
			}
			if c.ok {
				if err != nil {
					t.Errorf("with faults %v: %v; want success", kinds(c.faults), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("with faults %v on every attempt: success; want an error", kinds(c.faults))
			}
			t.Logf("%d GETs; %v", len(seen), err)
			if c.copy {
				sc.checkError(t, err, dst)
			} else {
				sc.checkError(t, err, key)
			}
			want := budgetRetries + 1
			if n := attemptsIn(err); n != want || !strings.Contains(err.Error(), fmt.Sprintf("(after %d attempts)", want)) {
				t.Errorf("the error says %d attempts; want %d: %v", n, want, err)
			}
			if c.copy {
				if a, err := sc.Direct.Stat(context.WithoutCancel(t.Context()), dst); !errors.Is(err, objstore.ErrNotFound) {
					t.Errorf("after the failed copy, Stat of the destination gives %+v, %v; want ErrNotFound", a, err)
				}
			}
		})
	}
}

// split splits the GETs of an object read into the attempts of its first
// request, which carry no If-Match, and the resumptions after them.
func split(seen []Request) (first, resumed []Request) {
	for i, r := range seen {
		if r.Header.Get("If-Match") != "" {
			return seen[:i], seen[i:]
		}
	}
	return seen, nil
}

// readBack reads key with one Get and checks what it served: data, or a
// prefix of it before an error, which it returns.
func readBack(t *testing.T, s objstore.Store, key string, data []byte) error {
	t.Helper()
	r, err := s.Get(t.Context(), key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	switch {
	case !bytes.HasPrefix(data, got):
		t.Errorf("Get: the %d bytes read are not the object's first %d", len(got), len(got))
	case err == nil && len(got) != len(data):
		t.Errorf("Get: read %d bytes, want %d", len(got), len(data))
	}
	return err
}

// attemptsIn is the Attempts of the first *objstore.Error in err's chain
// that counts any.
func attemptsIn(err error) int {
	var oe *objstore.Error
	for errors.As(err, &oe) {
		if oe.Attempts != 0 {
			return oe.Attempts
		}
		err = oe.Err
	}
	return 0
}

func kinds(fs []Fault) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%v×%d", f.Kind, f.Times))
	}
	return out
}
