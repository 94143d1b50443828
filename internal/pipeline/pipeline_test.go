package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/parts"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// server answers each request with the next of answers (the last one
// repeats) and records what it received.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	got     []recorded
}

type recorded struct {
	header http.Header
	body   string
	at     time.Time
}

func newServer(t *testing.T, answers ...func(w http.ResponseWriter)) *server {
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.got)
		s.got = append(s.got, recorded{header: r.Header.Clone(), body: string(b), at: time.Now()})
		a := s.answers[min(n, len(s.answers)-1)]
		s.mu.Unlock()
		a(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.got...)
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	}
}

// fast is a configuration for tests: short delays, no environment.
func fast(o objstore.ClientOptions) objstore.ClientOptions {
	o.IgnoreEnvironment = true
	if o.Retry.Delay == 0 {
		o.Retry.Delay = time.Millisecond
	}
	if o.Retry.MaxDelay == 0 {
		o.Retry.MaxDelay = 20 * time.Millisecond
	}
	return o
}

func newPipe(t *testing.T, o objstore.ClientOptions) *Pipeline {
	t.Helper()
	c, err := Resolve("test", nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	return New(c)
}

func put(t *testing.T, p *Pipeline, ctx context.Context, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Ms-Client-Request-Id", "req-1")
	return p.RoundTrip(req)
}

// TestRetryStatuses: a retryable status heals within the budget, a
// persistent one is tried max+1 times, a 400 once, a 4xx with Retry-After
// is retried after the delay it asks for; every attempt carries the same
// body and the same request ID.
func TestRetryStatuses(t *testing.T) {
	ok := status(200)
	for _, tt := range []struct {
		name     string
		answers  []func(http.ResponseWriter)
		retries  int
		attempts int
		status   int
	}{
		{"503 heals", []func(http.ResponseWriter){status(503), ok}, 3, 2, 200},
		{"500 then 502 heal", []func(http.ResponseWriter){status(500), status(502), ok}, 3, 3, 200},
		{"429 persists", []func(http.ResponseWriter){status(429)}, 3, 4, 429},
		{"503 persists, 2 retries", []func(http.ResponseWriter){status(503)}, 2, 3, 503},
		{"400 is tried once", []func(http.ResponseWriter){status(400), ok}, 3, 1, 400},
		{"404 is tried once", []func(http.ResponseWriter){status(404), ok}, 3, 1, 404},
		{"409 with Retry-After is retried", []func(http.ResponseWriter){status(409, "Retry-After", "0"), ok}, 3, 2, 200},
		{"retries=0", []func(http.ResponseWriter){status(503), ok}, -1, 1, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.answers...)
			p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: tt.retries}}))
			resp, err := put(t, p, context.Background(), srv.URL, "payload")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := srv.requests()
			if resp.StatusCode != tt.status || len(got) != tt.attempts {
				t.Fatalf("status %d after %d attempts; want %d after %d", resp.StatusCode, len(got), tt.status, tt.attempts)
			}
			for i, r := range got {
				if r.body != "payload" {
					t.Errorf("attempt %d sent body %q; the body was not rewound", i+1, r.body)
				}
				if id := r.header.Get("X-Ms-Client-Request-Id"); id != "req-1" {
					t.Errorf("attempt %d sent request ID %q", i+1, id)
				}
			}
		})
	}
}

// TestRetryAfterHonoured: the delay a 429 asks for is waited, beyond the
// backoff's (1 ms here).
func TestRetryAfterHonoured(t *testing.T) {
	for _, h := range [][]string{{"X-Ms-Retry-After-Ms", "150"}, {"Retry-After-Ms", "150"}, {"Retry-After", "1"}} {
		t.Run(h[0], func(t *testing.T) {
			srv := newServer(t, status(429, h...), status(200))
			p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxDelay: 2 * time.Second}}))
			resp, err := put(t, p, context.Background(), srv.URL, "x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := srv.requests()
			want := 150 * time.Millisecond
			if h[0] == "Retry-After" {
				want = time.Second
			}
			if len(got) != 2 || got[1].at.Sub(got[0].at) < want {
				t.Fatalf("%d attempts, %v apart; want 2, at least %v apart", len(got), got[len(got)-1].at.Sub(got[0].at), want)
			}
		})
	}
}

// TestBackoff: exponential doubles from Delay with ±20% jitter, fixed
// stays, and MaxDelay caps both.
func TestBackoff(t *testing.T) {
	p := newPipe(t, objstore.ClientOptions{IgnoreEnvironment: true})
	for attempt, want := range map[int]time.Duration{1: 800 * time.Millisecond, 2: 1600 * time.Millisecond, 3: 3200 * time.Millisecond} {
		for range 50 {
			d := p.delay(attempt, 0)
			if d < want*8/10 || d > want*12/10 {
				t.Fatalf("exponential delay before attempt %d: %v, want %v ±20%%", attempt+1, d, want)
			}
		}
	}
	p = newPipe(t, objstore.ClientOptions{IgnoreEnvironment: true, Retry: objstore.RetryOptions{Mode: objstore.RetryModeFixed, Delay: time.Second, MaxDelay: 1100 * time.Millisecond}})
	for range 50 {
		if d := p.delay(5, 0); d < 800*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("fixed delay %v, want 1s ±20%% capped at 1.1s", d)
		}
	}
	if d := p.delay(1, time.Hour); d != 1100*time.Millisecond {
		t.Errorf("a Retry-After of an hour waits %v, want MaxDelay", d)
	}
}

// TestRetryNetworkErrors: a refused connection is retried max+1 times and
// the error comes back; the attempt count reaches the *objstore.Error
// through Begin's end.
func TestRetryNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // now refused
	var attempts int
	p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: 2},
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			attempts++
			return http.DefaultTransport.RoundTrip(r)
		})}))
	ctx, end := p.Begin(context.Background(), "put", "k")
	_, err := put(t, p, ctx, url, "x")
	if err == nil || attempts != 3 {
		t.Fatalf("%d attempts, %v; want 3 and an error", attempts, err)
	}
	err = end(&objstore.Error{Driver: "test", Op: "put", Key: "k", Err: err})
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Attempts != 3 || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("the error does not say it made 3 attempts: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCancelStopsRetrying: a cancel during the wait before a retry returns
// at once, not after the delay. The cancel comes when the pipeline logs
// the retry, just before it waits: a cancel before the 503 has arrived
// would only return the 503.
func TestCancelStopsRetrying(t *testing.T) {
	srv := newServer(t, status(503))
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled atomic.Pointer[time.Time]
	logger := slog.New(onMessage{"objstore: retrying", func() {
		now := time.Now()
		cancelled.Store(&now)
		cancel()
	}})
	p := newPipe(t, objstore.ClientOptions{IgnoreEnvironment: true, Logger: logger, LogLevel: slog.LevelDebug,
		Retry: objstore.RetryOptions{Delay: time.Hour, MaxDelay: time.Hour}})
	_, err := put(t, p, ctx, srv.URL, "x")
	returned := time.Now()
	at := cancelled.Load()
	if at == nil {
		t.Fatalf("no retry was logged; the put returned %v", err)
	}
	if took := returned.Sub(*at); took > 100*time.Millisecond {
		t.Errorf("returned %v after the cancel; want within 100ms", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("the server saw %d attempts; want 1", n)
	}
}

// onMessage is a slog.Handler that calls f for each record whose message
// is msg.
type onMessage struct {
	msg string
	f   func()
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h onMessage) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h onMessage) WithGroup(string) slog.Handler            { return h }

func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.f()
	}
	return nil
}

// TestUnrewindableBodyIsSentOnce: a body without GetBody is not retried,
// since it cannot be sent again.
func TestUnrewindableBodyIsSentOnce(t *testing.T) {
	srv := newServer(t, status(503), status(200))
	p := newPipe(t, fast(objstore.ClientOptions{}))
	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.MultiReader(strings.NewReader("x")))
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || len(srv.requests()) != 1 {
		t.Errorf("status %d after %d attempts; want 503 after 1", resp.StatusCode, len(srv.requests()))
	}
	// With a rewinder in the context, as the S3 driver's middleware gives,
	// it is retried.
	body := bytes.NewReader([]byte("again"))
	ctx := WithRewind(context.Background(), func() (io.Reader, error) {
		_, err := body.Seek(0, io.SeekStart)
		return body, err
	})
	srv = newServer(t, status(503), status(200))
	req, _ = http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, io.NopCloser(body))
	req.ContentLength = 5
	resp, err = p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := srv.requests(); resp.StatusCode != 200 || len(got) != 2 || got[1].body != "again" {
		t.Errorf("status %d after %d attempts; want 200 after 2 with the whole body", resp.StatusCode, len(got))
	}
}

// TestUserAgent: the guideline's form, the application ID first, the
// SDK's token last; and none at all with telemetry off.
func TestUserAgent(t *testing.T) {
	srv := newServer(t, status(200))
	p := newPipe(t, fast(objstore.ClientOptions{ApplicationID: "myapp/1.2"}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "azsdk-go-azblob/v1.8.1")
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ua := srv.requests()[0].header.Get("User-Agent")
	if !strings.HasPrefix(ua, "myapp/1.2 objstore/") || !strings.HasSuffix(ua, ") azsdk-go-azblob/v1.8.1") || !strings.Contains(ua, "(go1.") {
		t.Errorf("User-Agent %q, want \"myapp/1.2 objstore/<version> (<go>; <os>; <arch>) azsdk-go-azblob/v1.8.1\"", ua)
	}
	p = newPipe(t, fast(objstore.ClientOptions{Telemetry: objstore.Off}))
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	resp, err = p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := srv.requests()[1].header; len(h.Values("User-Agent")) != 0 {
		t.Errorf("telemetry off still sent User-Agent %q", h.Get("User-Agent"))
	}
}

// TestApplicationIDChecked: more than 24 characters or a space is refused
// before anything is sent.
func TestApplicationIDChecked(t *testing.T) {
	for _, id := range []string{strings.Repeat("a", 25), "my app"} {
		_, err := Resolve("s3", nil, &objstore.ClientOptions{ApplicationID: id, IgnoreEnvironment: true})
		if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "24 characters") {
			t.Errorf("ApplicationID %q: %v; want ErrInvalidArgument naming the rule", id, err)
		}
	}
	if _, err := Resolve("s3", map[string]string{"app_id": "a b"}, nil); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("app_id=a b in the URL: %v", err)
	}
	if _, err := Resolve("s3", nil, &objstore.ClientOptions{ApplicationID: strings.Repeat("a", 24), IgnoreEnvironment: true}); err != nil {
		t.Errorf("24 characters are allowed: %v", err)
	}
}

// TestTraceTree: an operation whose request was retried once gives one
// operation span with two attempt spans as children, and the attempts
// carry traceparent.
func TestTraceTree(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := newServer(t, status(503), status(200))
	p := newPipe(t, fast(objstore.ClientOptions{TracerProvider: tp}))
	parentCtx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	ctx, end := p.Begin(parentCtx, "put", "k")
	resp, err := put(t, p, ctx, srv.URL, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	end(nil)
	parent.End()

	spans := rec.Ended()
	var op sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "objstore.put" {
			op = s
		}
	}
	if op == nil || op.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("no operation span under the caller's: %v", names(spans))
	}
	var attempts int
	for _, s := range spans {
		if s.Parent().SpanID() == op.SpanContext().SpanID() {
			attempts++
		}
	}
	if attempts != 2 {
		t.Errorf("%d attempt spans under the operation, want 2: %v", attempts, names(spans))
	}
	for i, r := range srv.requests() {
		if tp := r.header.Get("Traceparent"); !strings.Contains(tp, op.SpanContext().TraceID().String()) {
			t.Errorf("attempt %d sent traceparent %q, not of the operation's trace", i+1, tp)
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// TestNoTracingNoCost: without a TracerProvider no span is made and no
// traceparent is sent.
func TestNoTracingNoCost(t *testing.T) {
	srv := newServer(t, status(200))
	p := newPipe(t, fast(objstore.ClientOptions{}))
	if p.tracer != nil {
		t.Fatal("a tracer without a TracerProvider")
	}
	resp, err := put(t, p, context.Background(), srv.URL, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tp := srv.requests()[0].header.Get("Traceparent"); tp != "" {
		t.Errorf("traceparent %q sent with tracing off", tp)
	}
	p = newPipe(t, fast(objstore.ClientOptions{TracerProvider: sdktrace.NewTracerProvider(), Tracing: objstore.Off}))
	if p.tracer != nil {
		t.Error("Tracing Off did not turn a TracerProvider off")
	}
}

// TestLogLevels: request and response lines at Info, the retry at Debug
// (never Warn), a failed operation at Warn, a cancelled one at Info.
func TestLogLevels(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, status(503), status(500))
	p := newPipe(t, fast(objstore.ClientOptions{Logger: logger, Retry: objstore.RetryOptions{MaxRetries: 1}}))
	ctx, end := p.Begin(context.Background(), "put", "k")
	resp, err := put(t, p, ctx, srv.URL, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	end(&objstore.Error{Driver: "test", Op: "put", Key: "k", Err: errors.New("500")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, end = p.Begin(ctx, "get", "k")
	end(&objstore.Error{Driver: "test", Op: "get", Key: "k", Err: context.Canceled})

	logs := buf.String()
	for _, want := range []string{
		`"level":"INFO","msg":"objstore: request"`,
		`"level":"INFO","msg":"objstore: response"`,
		`"level":"DEBUG","msg":"objstore: retrying"`,
		`"level":"WARN","msg":"objstore: operation failed"`,
		`"level":"INFO","msg":"objstore: operation cancelled"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in the logs:\n%s", want, logs)
		}
	}
	if strings.Count(logs, `"level":"WARN"`) != 1 {
		t.Errorf("want exactly one Warn (the failed operation), not one per retry:\n%s", logs)
	}
}

// TestLogRedaction: headers and query parameters off the allow lists are
// logged as REDACTED at every level.
func TestLogRedaction(t *testing.T) {
	const canary = "CANARY-s3cr3t-9f8e7d"
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, status(503), status(200))
	p := newPipe(t, fast(objstore.ClientOptions{Logger: logger}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/c/b?comp=list&sig="+canary+"&X-Amz-Signature="+canary+"&X-Amz-Credential="+canary+"&se=2030", nil)
	for _, h := range []string{"Authorization", "X-Amz-Security-Token", "X-Ms-Copy-Source-Authorization", "X-Ms-Encryption-Key", "Cookie"} {
		req.Header.Set(h, "SharedKey acct:"+canary)
	}
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs := buf.String()
	if strings.Contains(logs, canary) {
		t.Fatalf("the canary secret was logged:\n%s", logs)
	}
	if !strings.Contains(logs, "comp=list") || !strings.Contains(logs, "REDACTED") {
		t.Errorf("allowed parameters should show and others be REDACTED:\n%s", logs)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAttemptsOfTheFailedPart: the parts of a multipart upload are
// requests of one operation, sent at once. When one part spends its
// retries, the error says how many attempts that part made, whatever
// attempt the parts still in flight were at. Here part 2 lags behind:
// its second attempt starts after part 1's third and last, and is
// cancelled by part 1's failure.
func TestAttemptsOfTheFailedPart(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	part1Last := make(chan struct{})   // part 1's third attempt has started
	part2Second := make(chan struct{}) // part 2's second attempt has started
	reset := errors.New("write: connection reset by peer")
	p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: 2},
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			part := r.URL.Query().Get("partNumber")
			mu.Lock()
			calls[part]++
			n := calls[part]
			mu.Unlock()
			switch {
			case part == "1" && n == 3:
				close(part1Last)
				<-part2Second
			case part == "2" && n == 1:
				<-part1Last
			case part == "2" && n == 2:
				close(part2Second)
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
			return nil, reset
		})}))
	ctx, end := p.Begin(context.Background(), "put", "k")
	err := parts.Each(ctx, 2, 2, func(ctx context.Context, i int) error {
		_, err := put(t, p, ctx, fmt.Sprintf("http://objstore.invalid/k?partNumber=%d", i+1), "part")
		return err
	})
	if err == nil {
		t.Fatal("the parts succeeded")
	}
	err = end(&objstore.Error{Driver: "test", Op: "put", Key: "k", Err: err})
	if calls["1"] != 3 || calls["2"] != 2 {
		t.Fatalf("parts 1 and 2 were tried %d and %d times; want 3 and 2", calls["1"], calls["2"])
	}
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Attempts != 3 || !strings.Contains(err.Error(), "(after 3 attempts)") {
		t.Errorf("the error does not say the failed part made 3 attempts: %v", err)
	}
}

// TestAnswersLost: a tracked request reports an attempt that may have
// been carried out without its answer reaching the client (a dropped
// connection, a 500), and not one the server refused (503) or answered.
func TestAnswersLost(t *testing.T) {
	drop := func(w http.ResponseWriter) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		conn.Close()
	}
	for _, c := range []struct {
		name    string
		answers []func(w http.ResponseWriter)
		lost    bool
	}{
		{"answered", []func(w http.ResponseWriter){status(412)}, false},
		{"503 then 412", []func(w http.ResponseWriter){status(503), status(412)}, false},
		{"429 then 200", []func(w http.ResponseWriter){status(429, "Retry-After", "0"), status(200)}, false},
		{"500 then 412", []func(w http.ResponseWriter){status(500), status(412)}, true},
		{"dropped then 412", []func(w http.ResponseWriter){drop, status(412)}, true},
		{"dropped then 200", []func(w http.ResponseWriter){drop, status(200)}, true},
		{"dropped every time", []func(w http.ResponseWriter){drop}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.answers...)
			p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: 2}}))
			ctx, answers := TrackAnswers(context.Background())
			resp, err := put(t, p, ctx, srv.URL, "body")
			if err == nil {
				resp.Body.Close()
			}
			if got := answers.Lost(); got != c.lost {
				t.Errorf("Lost() = %v after %d attempts (%v); want %v", got, len(srv.requests()), err, c.lost)
			}
		})
	}
	// A request outside TrackAnswers reports to no one.
	srv := newServer(t, status(500), status(200))
	resp, err := put(t, newPipe(t, fast(objstore.ClientOptions{})), context.Background(), srv.URL, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var none *Answers
	if none.Lost() {
		t.Error("a nil *Answers reports a lost answer")
	}
}
