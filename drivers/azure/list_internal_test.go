package azure

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/objstore-go/objstore"
)

// collect lists every page of l, as the portable store would, with fetch
// as the service.
func collect(t *testing.T, l *lister, fetch pageFunc) ([]string, error) {
	t.Helper()
	l.fetchFn = fetch
	var keys []string
	for marker := ""; ; {
		p, err := l.page(context.Background(), marker)
		if err != nil {
			return keys, err
		}
		for _, e := range p.Entries {
			keys = append(keys, e.Key)
		}
		if p.Next == "" || len(keys) >= 100 {
			return keys, nil
		}
		marker = p.Next
	}
}

// TestListStartFromRejected feeds the lister a service that rejects
// startFrom: it lists again without it, filters, and remembers.
func TestListStartFromRejected(t *testing.T) {
	s := &bucket{}
	var sent []*string
	fetch := func(_ context.Context, marker, startFrom *string) ([]listEntry, string, error) {
		sent = append(sent, startFrom)
		if startFrom != nil {
			return nil, "", responseError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid. QueryParameterName: startFrom")
		}
		return []listEntry{{name: "a"}, {name: "b"}, {name: "c"}}, "", nil
	}
	l := &lister{s: s, after: "a", pageSize: 10}
	keys, err := collect(t, l, fetch)
	if err != nil || !slices.Equal(keys, []string{"b", "c"}) {
		t.Errorf("got %q, %v; want [b c]", keys, err)
	}
	if len(sent) != 2 || sent[0] == nil || *sent[0] != "a" || sent[1] != nil {
		t.Errorf("startFrom sent: %v", sent)
	}
	if !s.noStartFrom.Load() {
		t.Errorf("the store did not remember that startFrom is rejected")
	}
	// Other failures are not retried.
	calls := 0
	_, err = collect(t, &lister{s: &bucket{}, after: "a", pageSize: 10}, func(context.Context, *string, *string) ([]listEntry, string, error) {
		calls++
		return nil, "", responseError(404, "ContainerNotFound", "")
	})
	if !errors.Is(err, objstore.ErrBucketNotFound) || calls != 1 {
		t.Errorf("a missing container: %v after %d calls", err, calls)
	}
}
