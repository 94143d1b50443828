package s3

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

// rewriteList sets a tamper on rec that passes each ListObjectsV2 response
// body through edit, with the request's continuation token ("" on the
// first page).
func rewriteList(rec *recorder, edit func(token string, body []byte) []byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.tamper = func(req *http.Request, resp *http.Response) {
		if operation(req) != "ListObjectsV2" || resp.StatusCode != http.StatusOK {
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		body = edit(req.URL.Query().Get("continuation-token"), body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
}

var nextToken = regexp.MustCompile(`<NextContinuationToken>[^<]*</NextContinuationToken>`)

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// listAll collects a listing, failing the test if it does not end.
func listAll(t *testing.T, s *Store, opts *objstore.ListOptions) ([]string, error) {
	t.Helper()
	var keys []string
	for e, err := range s.List(t.Context(), opts) {
		if err != nil {
			return keys, err
		}
		keys = append(keys, e.Key)
		if len(keys) > 100 {
			t.Fatalf("the listing did not end: %q", keys)
		}
	}
	return keys, nil
}

func putKeys(t *testing.T, s *Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := s.Put(t.Context(), k, strings.NewReader(k), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListRepeatedToken makes the server repeat a continuation token: the
// listing fails instead of looping.
func TestListRepeatedToken(t *testing.T) { eachServer(t, testListRepeatedToken) }

func testListRepeatedToken(t *testing.T) {
	s, rec := openTest(t, nil)
	putKeys(t, s, "k0", "k1", "k2", "k3")
	rewriteList(rec, func(token string, body []byte) []byte {
		if token == "" {
			return body
		}
		return nextToken.ReplaceAll(body, []byte("<NextContinuationToken>"+xmlText(token)+"</NextContinuationToken>"))
	})
	rec.reset()
	keys, err := listAll(t, s, &objstore.ListOptions{PageSize: 1})
	if err == nil || !strings.Contains(err.Error(), "continuation token") {
		t.Fatalf("List with a repeated token returned %q, %v; want an error about the token", keys, err)
	}
	if n := rec.count("ListObjectsV2"); n != 2 {
		t.Errorf("%d ListObjectsV2 requests; want 2, the second repeating the first's token", n)
	}
}

// TestListOutOfOrder makes the server send, on the second page, a key that
// sorts before the first page's: the listing fails rather than yield keys
// out of order or twice.
func TestListOutOfOrder(t *testing.T) { eachServer(t, testListOutOfOrder) }

func testListOutOfOrder(t *testing.T) {
	s, rec := openTest(t, nil)
	putKeys(t, s, "b", "c", "d")
	rewriteList(rec, func(token string, body []byte) []byte {
		if token == "" {
			return body
		}
		back := fmt.Sprintf("<Contents><Key>%sa</Key><Size>1</Size><ETag>&#34;x&#34;</ETag></Contents><Contents>", xmlText(s.b.prefix))
		return bytes.Replace(body, []byte("<Contents>"), []byte(back), 1)
	})
	keys, err := listAll(t, s, &objstore.ListOptions{PageSize: 1})
	if err == nil || !strings.Contains(err.Error(), "byte order") {
		t.Fatalf("List with a key out of order returned %q, %v; want an error about the order", keys, err)
	}
	if len(keys) != 1 || keys[0] != "b" {
		t.Errorf("List yielded %q before the error; want [b]", keys)
	}
}

// TestListBreak checks breaking out of a listing sends no further request.
func TestListBreak(t *testing.T) { eachServer(t, testListBreak) }

func testListBreak(t *testing.T) {
	s, rec := openTest(t, nil)
	putKeys(t, s, "a", "b", "c", "d", "e", "f")
	rec.reset()
	n := 0
	for _, err := range s.List(t.Context(), &objstore.ListOptions{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if got := rec.count("ListObjectsV2"); got != 2 {
		t.Errorf("%d ListObjectsV2 requests for 3 entries in pages of 2; want 2", got)
	}
}

// TestListMerge checks objects and common prefixes come merged in byte
// order within a page, with ModTimes that agree with Stat's.
func TestListMerge(t *testing.T) { eachServer(t, testListMerge) }

func testListMerge(t *testing.T) {
	s, _ := openTest(t, nil)
	putKeys(t, s, "a-", "a/x", "a0", "b/y", "b-", "c")
	var got []string
	for e, err := range s.List(t.Context(), &objstore.ListOptions{Delimiter: "/"}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.IsPrefix {
			got = append(got, e.Key+" (prefix)")
			continue
		}
		got = append(got, e.Key)
		st, err := s.Stat(t.Context(), e.Key)
		if err != nil || !st.ModTime.Equal(e.ModTime) || st.ETag != e.ETag || st.Size != e.Size {
			t.Errorf("entry %+v; Stat %+v, %v", e, st, err)
		}
	}
	want := []string{"a-", "a/ (prefix)", "a0", "b-", "b/ (prefix)", "c"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("List returned %q, want %q", got, want)
	}
}
