package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/budget"
	"github.com/objstore-go/objstore/internal/redact"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Pipeline sends a store's requests. It is an http.RoundTripper, and its
// Do method serves as the AWS SDK's HTTPClient and azcore's Transporter.
type Pipeline struct {
	cfg       Config
	userAgent string // our token, or "" with telemetry off
	base      *http.Transport
	attempt   http.RoundTripper // one attempt: tracing, then the base
	tracer    trace.Tracer      // nil: no tracing
	log       *slog.Logger      // nil: no logging
}

// New builds the pipeline of one store and logs its configuration's
// sources at Debug.
func New(c Config) *Pipeline {
	p := &Pipeline{cfg: c, log: c.Logger}
	var rt http.RoundTripper
	if c.Base.Transport != nil {
		rt = c.Base.Transport
	} else {
		p.base, rt = newBase(c)
	}
	if c.TracerProvider != nil {
		p.tracer = c.TracerProvider.Tracer("github.com/objstore-go/objstore", trace.WithInstrumentationVersion(Version()))
		rt = otelhttp.NewTransport(rt,
			otelhttp.WithTracerProvider(c.TracerProvider),
			otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "HTTP " + r.Method }),
		)
	}
	p.attempt = rt
	if c.Telemetry {
		p.userAgent = UserAgent(c.AppID)
	}
	c.logSources()
	return p
}

// Config returns the resolved configuration.
func (p *Pipeline) Config() Config { return p.cfg }

// Do is azcore's policy.Transporter.
func (p *Pipeline) Do(req *http.Request) (*http.Response, error) { return p.RoundTrip(req) }

// CloseIdle closes the idle pooled connections.
func (p *Pipeline) CloseIdle() {
	if p.base != nil {
		p.base.CloseIdleConnections()
	}
}

var version = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == "github.com/objstore-go/objstore" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/objstore-go/objstore" && d.Version != "" {
				return d.Version
			}
		}
	}
	return "devel"
})

// Version is objstore's module version, or "devel" in its own build.
func Version() string { return version() }

// UserAgent is objstore's telemetry token in the guideline's form
// (azurecore-http-telemetry-useragent): "[<appid> ]objstore/<version>
// (<go version>; <os>; <arch>)".
func UserAgent(appID string) string {
	ua := fmt.Sprintf("objstore/%s (%s; %s; %s)", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if appID != "" {
		ua = appID + " " + ua
	}
	return ua
}

// op is the state of one Store operation, carried in its context.
type op struct {
	name, key string
	caller    context.Context // the context the operation began with
	attempts  atomic.Int32    // the number, in its budget, of the last attempt of the operation's latest request to end; see ended
	// stream is the one budget of the operation's object read (see
	// [Stream]): its requests and the Reader's resumptions spend it.
	stream *budget.Budget
}

// ended records the attempts of a request of o that ended with ctx, its
// context. The parts of a multipart upload are requests of one operation
// in flight at once, and the first part to fail cancels the others: the
// operation then reports the failed part's attempts, so a request that
// ended because its own context did, while the caller's is still live,
// is not recorded. Recording when a request ends, not as each attempt
// starts, keeps the attempts a lagging part starts meanwhile out too.
func (o *op) ended(ctx context.Context, attempts int) {
	if o == nil || ctx.Err() != nil && o.caller.Err() == nil {
		return
	}
	o.attempts.Store(int32(attempts))
}

type opKey struct{}

func opFrom(ctx context.Context) *op {
	o, _ := ctx.Value(opKey{}).(*op)
	return o
}

// Begin starts a Store operation: a span (a child of ctx's) and the state
// the attempts report to. end finishes it with the operation's error: it
// records the attempts in an *objstore.Error whose retries were spent
// (unless an *objstore.Error it wraps says already), logs a failure at
// Warn (a cancellation at Info), ends the span, and returns err.
//
// Each request of the operation has a budget of MaxRetries+1 attempts,
// except that the requests of its object read share one (see [Stream]).
func (p *Pipeline) Begin(ctx context.Context, name, key string) (_ context.Context, end func(error) error) {
	o := &op{name: name, key: key, caller: ctx, stream: budget.New(p.cfg.MaxRetries + 1)}
	ctx = context.WithValue(ctx, opKey{}, o)
	ctx = budget.WithResumes(ctx, p.cfg.MaxRetries)
	var span trace.Span
	if p.tracer != nil {
		ctx, span = p.tracer.Start(ctx, "objstore."+name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("objstore.driver", p.cfg.Driver), attribute.String("objstore.operation", name)))
	}
	return ctx, func(err error) error {
		if err != nil {
			var oe *objstore.Error
			if n := int(o.attempts.Load()); n > 1 && errors.As(err, &oe) && !counted(err) {
				oe.Attempts = n
			}
		}
		if span != nil {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, redact.String(err.Error()))
			}
			span.End()
		}
		if p.log != nil && err != nil {
			p.logFailure(ctx, o, err)
		}
		return err
	}
}

// counted reports whether an *objstore.Error in err's chain holds its
// attempts already: a Reader's, which counted its resumptions.
func counted(err error) bool {
	var oe *objstore.Error
	for errors.As(err, &oe) {
		if oe.Attempts != 0 {
			return true
		}
		err = oe.Err
	}
	return false
}

type streamKey struct{}

// Stream returns a context whose requests' response bodies are objects'
// bytes, streamed to the caller (Get): the pipeline neither buffers them
// nor retries a failure while reading them; the Reader resumes instead.
//
// The requests under the context, and the resumptions of a Reader made
// with it, spend one budget of MaxRetries+1 attempts: the operation's
// (see [Pipeline.Begin]), so that a Get, however often its body breaks,
// makes at most MaxRetries+1 HTTP attempts in all.
func Stream(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, streamKey{}, true)
	if o := opFrom(ctx); o != nil {
		ctx = budget.With(ctx, o.stream)
	}
	return ctx
}

func streaming(ctx context.Context) bool {
	b, _ := ctx.Value(streamKey{}).(bool)
	return b
}

// logFailure logs a failed operation: at Info when the caller cancelled
// it (azurecore-http-logging-cancellation), else at Warn
// (azurecore-http-logging-exceptions). Classes the caller asked for
// (ErrNotFound on a Stat, ErrExists on an IfAbsent put, ErrNotModified)
// are results, not failures, and log at Info.
func (p *Pipeline) logFailure(ctx context.Context, o *op, err error) {
	attrs := []any{slog.String("driver", p.cfg.Driver), slog.String("op", o.name), slog.String("key", o.key),
		slog.String("error", redact.String(err.Error()))}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		p.log.InfoContext(ctx, "objstore: operation cancelled", attrs...)
	case errors.Is(err, objstore.ErrNotFound), errors.Is(err, objstore.ErrExists),
		errors.Is(err, objstore.ErrPrecondition), errors.Is(err, objstore.ErrNotModified):
		p.log.InfoContext(ctx, "objstore: operation answered", attrs...)
	default:
		p.log.WarnContext(ctx, "objstore: operation failed", attrs...)
	}
}
