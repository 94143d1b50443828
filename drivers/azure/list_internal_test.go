package azure

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/objstore-go/objstore"
)

func collect(t *testing.T, l *lister, fetch pageFunc) ([]string, error) {
	t.Helper()
	var keys []string
	var err error
	l.walk(context.Background(), fetch, func(e objstore.Entry, e2 error) bool {
		if e2 != nil {
			err = e2
			return false
		}
		keys = append(keys, e.Key)
		return len(keys) < 100
	})
	return keys, err
}

// TestListRepeatedMarker feeds the lister a service whose marker stops
// advancing: the listing ends with an error instead of looping.
func TestListRepeatedMarker(t *testing.T) {
	for _, markers := range [][]string{{"m1", "m1"}, {"m1", "m2", "m1"}} {
		calls := 0
		fetch := func(_ context.Context, marker, _ *string) ([]listEntry, string, error) {
			calls++
			if calls > 10 {
				t.Fatal("the lister kept asking")
			}
			e := listEntry{name: "k" + string(rune('0'+calls))}
			return []listEntry{e}, markers[min(calls-1, len(markers)-1)], nil
		}
		l := &lister{s: &Store{}, pageSize: 1}
		keys, err := collect(t, l, fetch)
		if !errors.Is(err, errMarkerRepeated) {
			t.Errorf("markers %q: got %v after %q, want errMarkerRepeated", markers, err, keys)
		}
		if len(keys) != len(markers) {
			t.Errorf("markers %q: yielded %q before failing", markers, keys)
		}
	}
}

// TestListStartFromRejected feeds the lister a service that rejects
// startFrom: it lists again without it, filters, and remembers.
func TestListStartFromRejected(t *testing.T) {
	s := &Store{}
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
	_, err = collect(t, &lister{s: &Store{}, after: "a", pageSize: 10}, func(context.Context, *string, *string) ([]listEntry, string, error) {
		calls++
		return nil, "", responseError(404, "ContainerNotFound", "")
	})
	if !errors.Is(err, objstore.ErrBucketNotFound) || calls != 1 {
		t.Errorf("a missing container: %v after %d calls", err, calls)
	}
}
