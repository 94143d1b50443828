package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a server that serves body on GET, takes any PUT, and counts
// the requests that reach it.
func backend(t *testing.T, body []byte) (endpoint string, hits *atomic.Int32) {
	hits = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			w.Header().Set("X-Received", strconv.FormatInt(n, 10))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// client has a transport of its own, so that no test shares connections.
func client(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

func do(t *testing.T, c *http.Client, method, url string, body []byte, h http.Header) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp, got, err
}

func TestFaultsStatus(t *testing.T) {
	endpoint, hits := backend(t, []byte("payload"))
	p := NewFaults(t, endpoint, false)
	c := client(t, 5*time.Second)
	p.Arm(Fault{Kind: Status, Status: 503, Method: http.MethodGet, PathSuffix: "/k", Times: 2})

	for i, want := range []int{503, 503, 200} {
		resp, body, err := do(t, c, http.MethodGet, p.URL()+"/b/k", nil, nil)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("GET %d: %v, %v; want %d", i+1, resp, err, want)
		}
		if want == 503 && (!strings.Contains(string(body), "<Code>SlowDown</Code>") || resp.Header.Get("X-Amz-Request-Id") == "") {
			t.Errorf("an S3 request's 503 has body %q and headers %v; want S3's SlowDown", body, resp.Header)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("the backend saw %d requests; want 1, after the 2 faults", hits.Load())
	}
	reqs := p.Requests()
	if len(reqs) != 3 || reqs[0].Fault != Status || reqs[2].Fault != Pass || reqs[2].Status != 200 || reqs[0].Status != 503 {
		t.Fatalf("recorded %+v", reqs)
	}
	for _, r := range reqs {
		if r.End.Before(r.Start) || r.Response == nil {
			t.Errorf("request %d: Start %v End %v Response %v", r.Seq, r.Start, r.End, r.Response)
		}
	}

	// An Azure request gets Azure's error, its client request ID back,
	// and the delay in the header asked for; a HEAD no body.
	p.Forget()
	p.Arm(Fault{Kind: Status, Status: 503, Method: http.MethodHead, Times: 1, RetryAfter: 1500 * time.Millisecond, RetryAfterHeader: "x-ms-retry-after-ms"})
	p.Arm(Fault{Kind: Status, Status: 429, Query: "comp=list", Times: -1, RetryAfter: 1500 * time.Millisecond})
	az := http.Header{"X-Ms-Version": {"2025-01-05"}, "X-Ms-Client-Request-Id": {"id-1"}}
	resp, body, err := do(t, c, http.MethodHead, p.URL()+"/b/k", nil, az)
	if err != nil || resp.StatusCode != 503 || len(body) != 0 || resp.Header.Get("X-Ms-Error-Code") != "ServerBusy" ||
		resp.Header.Get("X-Ms-Client-Request-Id") != "id-1" || resp.Header.Get("X-Ms-Retry-After-Ms") != "1500" {
		t.Errorf("HEAD: %v %q %v", resp, body, err)
	}
	for range 2 {
		resp, body, err = do(t, c, http.MethodGet, p.URL()+"/b?restype=container&comp=list", nil, az)
		if err != nil || resp.StatusCode != 429 || !strings.Contains(string(body), "<Code>TooManyRequests</Code>") || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("GET comp=list: %v %q %v; want 429 with Retry-After: 2", resp, body, err)
		}
	}
	// Query "comp=list" does not match another comp.
	if resp, _, err := do(t, c, http.MethodGet, p.URL()+"/b/k?comp=tags", nil, az); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET comp=tags: %v %v; want it passed on", resp, err)
	}
	p.Disarm()
	if resp, _, err := do(t, c, http.MethodGet, p.URL()+"/b?comp=list", nil, az); err != nil || resp.StatusCode != 200 {
		t.Errorf("after Disarm: %v %v; want it passed on", resp, err)
	}
	if got := len(p.Matching(Fault{Query: "comp=list"})); got != 3 {
		t.Errorf("Matching(comp=list) found %d requests; want 3", got)
	}
}

func TestFaultsReset(t *testing.T) {
	endpoint, hits := backend(t, []byte("payload"))
	p := NewFaults(t, endpoint, false)
	c := client(t, 5*time.Second)
	var faulted atomic.Int32
	p.Arm(Fault{Kind: Reset, Method: http.MethodGet, Times: 1, OnFault: func(Request) { faulted.Add(1) }})
	p.Arm(Fault{Kind: ResetUpload, Method: http.MethodPut, Times: 1, After: 1000})
	if _, _, err := do(t, c, http.MethodGet, p.URL()+"/k", nil, nil); err == nil {
		t.Errorf("GET through a reset succeeded")
	}
	if _, _, err := do(t, c, http.MethodPut, p.URL()+"/k", make([]byte, 1<<20), nil); err == nil {
		t.Errorf("PUT through a reset mid-body succeeded")
	}
	if hits.Load() != 0 || faulted.Load() != 1 {
		t.Errorf("the backend saw %d requests, OnFault ran %d times; want 0 and 1", hits.Load(), faulted.Load())
	}
	resp, _, err := do(t, c, http.MethodPut, p.URL()+"/k", make([]byte, 1<<20), nil)
	if err != nil || resp.Header.Get("X-Received") != strconv.Itoa(1<<20) {
		t.Errorf("PUT after the faults: %v %v", resp, err)
	}
}

// TestFaultsDrop: the server gets the request and answers it; the client
// gets no answer at all.
func TestFaultsDrop(t *testing.T) {
	endpoint, hits := backend(t, []byte("payload"))
	p := NewFaults(t, endpoint, false)
	c := client(t, 5*time.Second)
	var faulted, dropped atomic.Int32
	p.Arm(Fault{Kind: Drop, Method: http.MethodPut, Times: 1, OnFault: func(r Request) {
		if hits.Load() != 1 {
			t.Errorf("OnFault ran before the server answered: it saw %d requests", hits.Load())
		}
		faulted.Add(1)
		dropped.Store(int32(r.Dropped))
	}})
	resp, _, err := do(t, c, http.MethodPut, p.URL()+"/k", make([]byte, 1000), nil)
	if err == nil {
		t.Errorf("a dropped PUT was answered: %v", resp.Status)
	}
	if hits.Load() != 1 || faulted.Load() != 1 || dropped.Load() != 200 {
		t.Errorf("the backend saw %d requests, OnFault ran %d times and saw the server's %d; want 1, 1 and 200",
			hits.Load(), faulted.Load(), dropped.Load())
	}
	// The record's End and Status come after the reset; Dropped before.
	if reqs := p.Requests(); len(reqs) != 1 || reqs[0].Fault != Drop || reqs[0].Dropped != 200 {
		t.Errorf("recorded %+v; want one Drop the server answered 200", reqs)
	}
}

func TestFaultsResetDownload(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	endpoint, _ := backend(t, data)
	p := NewFaults(t, endpoint, false)
	c := client(t, 5*time.Second)
	p.Arm(Fault{Kind: ResetDownload, Times: 1, After: 1234})
	p.Arm(Fault{Kind: ResetDownload, Times: 1})
	for _, want := range []int{1234, len(data) / 2} {
		resp, got, err := do(t, c, http.MethodGet, p.URL()+"/k", nil, nil)
		if err == nil || resp.StatusCode != 200 || len(got) != want || !bytes.Equal(got, data[:want]) {
			t.Errorf("read %d bytes, then %v; want the first %d and an error", len(got), err, want)
		}
	}
}

func TestFaultsStall(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	endpoint, hits := backend(t, data)
	p := NewFaults(t, endpoint, false)

	// A stall ends when the client gives up.
	stalled := make(chan Request, 1)
	p.Arm(Fault{Kind: Stall, Times: 1, OnFault: func(r Request) { stalled <- r }})
	_, _, err := do(t, client(t, 200*time.Millisecond), http.MethodPut, p.URL()+"/k", []byte("body"), nil)
	if err == nil {
		t.Fatalf("a stalled PUT succeeded")
	}
	if r := <-stalled; r.Method != http.MethodPut || r.Fault != Stall {
		t.Errorf("OnFault got %+v", r)
	}

	// Or when released: the connection is then reset, never answered.
	c := client(t, 0)
	p.Arm(Fault{Kind: Stall, Times: 1, OnFault: func(r Request) { stalled <- r }})
	done := make(chan error, 1)
	go func() { _, _, err := do(t, c, http.MethodGet, p.URL()+"/k", nil, nil); done <- err }()
	<-stalled
	p.Release()
	if err := <-done; err == nil {
		t.Errorf("a released stall answered")
	}

	// A download stall passes the first bytes, then waits.
	p.Arm(Fault{Kind: StallDownload, Times: 1, After: 100, OnFault: func(r Request) { stalled <- r }})
	got := make(chan int, 1)
	go func() {
		resp, err := c.Get(p.URL() + "/k")
		if err != nil {
			got <- -1
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- len(b)
	}()
	<-stalled
	p.Release()
	if n := <-got; n != 100 {
		t.Errorf("read %d bytes of a download stalled after 100", n)
	}
	if hits.Load() != 1 {
		t.Errorf("the backend saw %d requests; want 1, the download", hits.Load())
	}
	if reqs := p.Requests(); len(reqs) != 3 || reqs[2].Fault != StallDownload || reqs[2].Status != 200 {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestFaultKindString(t *testing.T) {
	for k, want := range map[Kind]string{Pass: "pass", ResetUpload: "reset-upload", StallDownload: "stall-download", Drop: "drop", Kind(42): "Kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", int(k), got, want)
		}
	}
}
