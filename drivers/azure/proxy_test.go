package azure_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// faultProxy sits between the driver and the real server and injects one
// kind of fault: a body that stalls, a refused or a pending Copy Blob, a
// failed Put Block. The rest passes through unchanged.
type faultProxy struct {
	srv *httptest.Server

	mu           sync.Mutex
	stallSuffix  string   // GETs of a blob whose path ends so stall after 1000 bytes
	refuseCopy   bool     // answer Copy Blob with 403 CannotVerifyCopySource
	pendingCopy  bool     // report Copy Blob as pending
	pendingPolls int      // report the copy pending in this many more Get Blob Properties
	onPending    func()   // runs once, when the next pending poll is answered
	copies       int      // Copy Blob requests seen
	aborts       int      // Abort Copy Blob requests seen
	copyProgress []string // x-ms-copy-progress of the next pending polls, one each
	failBlocks   int      // answer this many more Put Block requests with a 503 to retry at once
	blockPuts    int      // Put Block requests seen
}

// newFaultProxy returns a proxy to the backend's endpoint and the endpoint
// to give the driver instead.
func newFaultProxy(t *testing.T, b backend) (*faultProxy, string) {
	t.Helper()
	target, err := url.Parse(b.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{}
	release := make(chan struct{})
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			r.Out.Host = target.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			req := resp.Request
			switch {
			case req.Method == http.MethodHead && p.pendingPolls > 0 && resp.Header.Get("x-ms-copy-id") != "":
				p.pendingPolls--
				resp.Header.Set("x-ms-copy-status", "pending")
				if len(p.copyProgress) > 0 {
					resp.Header.Set("x-ms-copy-progress", p.copyProgress[0])
					p.copyProgress = p.copyProgress[1:]
				}
				if p.onPending != nil {
					p.onPending()
					p.onPending = nil
				}
			}
			return nil
		},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		stall := p.stallSuffix != "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, p.stallSuffix)
		isCopy := r.Method == http.MethodPut && r.Header.Get("x-ms-copy-source") != ""
		isAbort := r.Method == http.MethodPut && r.URL.Query().Get("comp") == "copy" && r.URL.Query().Get("copyid") != ""
		if isCopy {
			p.copies++
		}
		if isAbort {
			p.aborts++
		}
		refuse := isCopy && p.refuseCopy
		pending := isCopy && p.pendingCopy
		isBlock := r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block"
		failBlock := isBlock && p.failBlocks > 0
		if isBlock {
			p.blockPuts++
		}
		if failBlock {
			p.failBlocks--
		}
		p.mu.Unlock()
		switch {
		case failBlock:
			io.CopyN(io.Discard, r.Body, 1<<20)
			w.Header().Set("x-ms-error-code", "ServerBusy")
			w.Header().Set("x-ms-retry-after-ms", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case pending:
			p.startPending(t, b, w, r)
		case refuse:
			w.Header().Set("x-ms-error-code", "CannotVerifyCopySource")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>CannotVerifyCopySource</Code><Message>This request is not authorized to perform this operation.</Message></Error>`)
		case isAbort:
			w.WriteHeader(http.StatusNoContent)
		case stall:
			rec := &stallWriter{ResponseWriter: w, left: 1000, release: release, done: r.Context().Done()}
			rp.ServeHTTP(rec, r)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() { close(release); p.srv.Close() })
	return p, p.srv.URL + target.Path
}

// startPending performs the Copy Blob of r itself, with the account key
// and the source read from the server directly (a copy source that names
// the proxy would be another account to the server), and answers that the
// copy is pending.
func (p *faultProxy) startPending(t *testing.T, b backend, w http.ResponseWriter, r *http.Request) {
	srcURL, err := url.Parse(r.Header.Get("x-ms-copy-source"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target, _ := url.Parse(b.endpoint)
	srcURL.Scheme, srcURL.Host = target.Scheme, target.Host
	prefix := target.Path + "/" + b.container + "/"
	name := strings.TrimPrefix(r.URL.Path, prefix)
	o := &blob.StartCopyFromURLOptions{}
	if v := r.Header.Get("x-ms-source-if-match"); v != "" {
		o.SourceModifiedAccessConditions = &blob.SourceModifiedAccessConditions{SourceIfMatch: to.Ptr(azcore.ETag(v))}
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		o.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETag(v))}}
	}
	resp, err := b.client(t).ServiceClient().NewContainerClient(b.container).NewBlockBlobClient(name).StartCopyFromURL(r.Context(), srcURL.String(), o)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			w.Header().Set("x-ms-error-code", re.ErrorCode)
			w.WriteHeader(re.StatusCode)
			return
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("ETag", string(*resp.ETag))
	w.Header().Set("Last-Modified", resp.LastModified.UTC().Format(http.TimeFormat))
	w.Header().Set("x-ms-copy-id", *resp.CopyID)
	w.Header().Set("x-ms-copy-status", "pending")
	w.WriteHeader(http.StatusAccepted)
}

// stallWriter passes through left bytes of a body, then blocks.
type stallWriter struct {
	http.ResponseWriter
	left    int
	release <-chan struct{}
	done    <-chan struct{}
}

func (s *stallWriter) Write(b []byte) (int, error) {
	if len(b) <= s.left {
		n, err := s.ResponseWriter.Write(b)
		s.left -= n
		return n, err
	}
	s.ResponseWriter.Write(b[:s.left])
	s.left = 0
	s.ResponseWriter.(http.Flusher).Flush()
	select {
	case <-s.release:
	case <-s.done:
	}
	return 0, errors.New("stalled")
}

func (p *faultProxy) set(f func(p *faultProxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *faultProxy) counts() (copies, aborts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.copies, p.aborts
}

// proxiedStore opens a store on the test container through the proxy.
func proxiedStore(t *testing.T, b backend, endpoint, copyMode string, opts *azure.Options) *azure.Store {
	t.Helper()
	raw := fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s&copy=%s",
		b.container, randomPrefix(t), url.QueryEscape(endpoint), b.account, credName(t, b), copyMode)
	return open(t, raw, opts)
}

// stallReadTimeout is the read timeout of TestStalledBodyAzurite. The
// requests that do not stall are under it too, and on a loaded machine
// Azurite took up to 350 ms to answer one: at 300 ms, a resumption could
// time out before its first byte and spend the Reader's budget.
const stallReadTimeout = 2 * time.Second

// TestStalledBodyAzurite reads a blob through a connection that stops
// sending midway: the read fails with ErrReadTimeout in about the read
// timeout, where it would otherwise hang.
func TestStalledBodyAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newFaultProxy(t, b)
	s := proxiedStore(t, b, endpoint, "auto", &azure.Options{ClientOptions: &objstore.ClientOptions{ReadTimeout: stallReadTimeout}})
	ctx := context.Background()
	data := strings.Repeat("0123456789", 10000)
	if _, err := s.Put(ctx, "stall", strings.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *faultProxy) { p.stallSuffix = "/stall" })
	r, err := s.Get(ctx, "stall", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if !errors.Is(err, azure.ErrReadTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("reading a stalled body: %d bytes, then %v; want ErrReadTimeout", len(got), err)
	}
	// The Reader resumes after each stall, three times (its budget), and
	// each resumption stalls after 1000 bytes too.
	if len(got) != 4000 || string(got) != data[:4000] {
		t.Errorf("read %d bytes before giving up, want the first 4000", len(got))
	}
	// The store still works.
	p.set(func(p *faultProxy) { p.stallSuffix = "" })
	if _, _, err := objstore.ReadAll(ctx, s, "stall"); err != nil {
		t.Errorf("after a stall: %v", err)
	}
}

// TestCopyRefusedAzurite makes the service refuse Copy Blob: copy=server
// fails with ErrPermission and leaves dst alone; copy=auto streams
// instead, and stops asking.
func TestCopyRefusedAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newFaultProxy(t, b)
	p.set(func(p *faultProxy) { p.refuseCopy = true })
	ctx := context.Background()
	meta := map[string]string{"owner": "me"}

	t.Run("server", func(t *testing.T) {
		s := proxiedStore(t, b, endpoint, "server", nil)
		if _, err := s.Put(ctx, "src", strings.NewReader("payload"), &objstore.PutOptions{ContentType: "text/x", Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Copy(ctx, "dst", "src", nil)
		if !errors.Is(err, objstore.ErrPermission) {
			t.Errorf("a refused server-side copy: got %v, want ErrPermission", err)
		}
		if _, err := s.Stat(ctx, "dst"); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("a refused copy touched dst: %v", err)
		}
	})
	t.Run("auto", func(t *testing.T) {
		s := proxiedStore(t, b, endpoint, "auto", nil)
		if _, err := s.Put(ctx, "src", strings.NewReader("payload"), &objstore.PutOptions{ContentType: "text/x", Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		before, _ := p.counts()
		for _, dst := range []string{"dst", "dst2", "dst3"} {
			a, err := s.Copy(ctx, dst, "src", nil)
			if err != nil {
				t.Fatalf("Copy to %s: %v", dst, err)
			}
			data, st, err := objstore.ReadAll(ctx, s, dst)
			if err != nil || string(data) != "payload" || st.ContentType != "text/x" || st.Metadata["owner"] != "me" || st.ETag != a.ETag {
				t.Errorf("%s holds %q %+v (%v); Copy returned %+v", dst, data, st, err, a)
			}
		}
		if after, _ := p.counts(); after-before != 1 {
			t.Errorf("auto sent %d Copy Blob requests for 3 copies; want 1, then streaming", after-before)
		}
	})
}

// TestCopyPendingAzurite makes Copy Blob report pending: the driver polls
// until the copy succeeds, and aborts it when the context ends first.
func TestCopyPendingAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newFaultProxy(t, b)
	defer azure.SetCopyPoll(time.Millisecond, 10*time.Millisecond)()
	ctx := context.Background()
	s := proxiedStore(t, b, endpoint, "server", nil)
	if _, err := s.Put(ctx, "src", strings.NewReader("payload"), &objstore.PutOptions{ContentType: "text/x"}); err != nil {
		t.Fatal(err)
	}

	p.set(func(p *faultProxy) { p.pendingCopy, p.pendingPolls = true, 3 })
	a, err := s.Copy(ctx, "dst", "src", nil)
	if err != nil {
		t.Fatalf("a copy pending for 3 polls: %v", err)
	}
	st, err := s.Stat(ctx, "dst")
	if err != nil || st.ETag != a.ETag || st.Size != 7 || st.ContentType != "text/x" {
		t.Errorf("Copy returned %+v; Stat says %+v (%v)", a, st, err)
	}
	p.mu.Lock()
	left := p.pendingPolls
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("the driver stopped polling with %d pending answers left", left)
	}

	// The context ends while the copy is pending: cancelled by the proxy as
	// it answers the first poll, so that the copy surely exists to abort
	// whatever the machine's speed.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.set(func(p *faultProxy) { p.pendingCopy, p.pendingPolls, p.onPending = true, 1<<30, cancel })
	_, abortsBefore := p.counts()
	_, err = s.Copy(cctx, "dst2", "src", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a copy pending when the context ends: got %v, want context.Canceled", err)
	}
	if _, aborts := p.counts(); aborts != abortsBefore+1 {
		t.Errorf("the driver sent %d Abort Copy Blob requests, want 1", aborts-abortsBefore)
	}
}

// sectionSpy is a Put body with ReadAt and Size that counts how the
// driver reads it.
type sectionSpy struct {
	*io.SectionReader
	reads, readAts atomic.Int32
}

func newSectionSpy(data []byte) *sectionSpy {
	return &sectionSpy{SectionReader: io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data)))}
}

func (s *sectionSpy) Read(p []byte) (int, error) {
	s.reads.Add(1)
	return s.SectionReader.Read(p)
}

func (s *sectionSpy) ReadAt(p []byte, off int64) (int, error) {
	s.readAts.Add(1)
	return s.SectionReader.ReadAt(p, off)
}

// progressCalls records progress calls.
type progressCalls struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (p *progressCalls) fn(done, total int64) {
	p.mu.Lock()
	p.calls = append(p.calls, [2]int64{done, total})
	p.mu.Unlock()
}

func (p *progressCalls) get() [][2]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][2]int64(nil), p.calls...)
}

// TestPutReadsBlocksAtAzurite puts a body with ReadAt and Size above the
// block size, with the first Put Block failing: the blocks are read
// through ReadAt only, with no block buffer, the failed block alone is
// sent again, and the object round-trips.
func TestPutReadsBlocksAtAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newFaultProxy(t, b)
	s := proxiedStore(t, b, endpoint, "auto", nil)
	ctx := context.Background()
	buffers := 0
	defer azure.SetMaxLiveHook(func(int) { buffers++ })()

	data := randomBytes(7, 13<<20+3)
	p.set(func(p *faultProxy) { p.failBlocks = 1 })
	body := newSectionSpy(data)
	prog := &progressCalls{}
	a, err := s.Put(ctx, "k", body, &objstore.PutOptions{PartSize: 4 << 20, Concurrency: 3, Progress: prog.fn})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	puts, left := p.blockPuts, p.failBlocks
	p.mu.Unlock()
	if left != 0 || puts != 5 {
		t.Errorf("%d Put Block requests (%d failures left to inject); want 5: 4 blocks, and the failed one again", puts, left)
	}
	if ids := committedBlocks(t, s, azure.FullKey(s, "k")); len(ids) != 4 {
		t.Errorf("%d blocks committed, want 4", len(ids))
	}
	if r, ra := body.reads.Load(), body.readAts.Load(); r != 0 || ra == 0 {
		t.Errorf("the driver called Read %d times and ReadAt %d times; want ReadAt only", r, ra)
	}
	if buffers != 0 {
		t.Errorf("the upload used block buffers; a body read with ReadAt needs none")
	}
	got, st, err := objstore.ReadAll(ctx, s, "k")
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) || st.ETag != a.ETag || a.Size != int64(len(data)) {
		t.Errorf("the object holds %d other bytes (%v); Put returned %+v", len(got), err, a)
	}
	n := int64(len(data))
	if calls := prog.get(); len(calls) != 5 || calls[0] != [2]int64{0, n} || calls[4] != [2]int64{n, n} {
		t.Errorf("Progress calls %v; want one per block, from [0 %d] to [%d %d]", calls, n, n, n)
	}
}

// TestCopyPendingProgressAzurite makes a server-side copy pending for
// three polls that report x-ms-copy-progress: Progress follows them.
func TestCopyPendingProgressAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newFaultProxy(t, b)
	defer azure.SetCopyPoll(time.Millisecond, 10*time.Millisecond)()
	ctx := context.Background()
	s := proxiedStore(t, b, endpoint, "server", nil)
	n := int64(3<<20 + 1)
	if _, err := s.Put(ctx, "src", bytes.NewReader(randomBytes(8, int(n))), nil); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *faultProxy) {
		p.pendingCopy, p.pendingPolls = true, 3
		p.copyProgress = []string{fmt.Sprintf("%d/%d", 1<<20, n), fmt.Sprintf("%d/%d", 2<<20, n), fmt.Sprintf("%d/%d", 3<<20, n)}
	})
	prog := &progressCalls{}
	a, err := s.Copy(ctx, "dst", "src", &objstore.CopyOptions{Progress: prog.fn})
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != n {
		t.Errorf("Copy returned Size %d, want %d", a.Size, n)
	}
	want := [][2]int64{{0, n}, {1 << 20, n}, {2 << 20, n}, {3 << 20, n}, {n, n}}
	if calls := prog.get(); !slices.Equal(calls, want) {
		t.Errorf("Progress calls %v; want %v", calls, want)
	}
}
