package pipeline

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/objstore-go/objstore/internal/redact"
)

// redacted replaces the value of a header or query parameter that is not
// on the allow lists.
const redacted = "REDACTED"

// allowedHeaders are logged with their values; every other header is
// logged as REDACTED (azurecore-http-logging-sensitive-info). Names are
// canonical.
var allowedHeaders = []string{
	"Accept", "Accept-Ranges", "Content-Length", "Content-Range", "Content-Type", "Date", "Etag",
	"Expect", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Last-Modified",
	"Range", "Retry-After", "Retry-After-Ms", "Server", "Traceparent", "Transfer-Encoding", "User-Agent",
	"X-Ms-Client-Request-Id", "X-Ms-Request-Id", "X-Ms-Version", "X-Ms-Error-Code", "X-Ms-Blob-Type",
	"X-Ms-Range", "X-Ms-Copy-Status", "X-Ms-Copy-Id", "X-Ms-Copy-Progress", "X-Ms-Retry-After-Ms",
	"X-Ms-Return-Client-Request-Id", "X-Ms-Date",
	"Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "X-Amz-Request-Id", "X-Amz-Id-2", "X-Amz-Date",
	"X-Amz-Content-Sha256", "X-Amz-Copy-Source-Range", "X-Amz-Metadata-Directive", "X-Minio-Error-Code",
	"Proxy-Authenticate",
}

// allowedQuery are the query parameters logged with their values.
var allowedQuery = []string{
	"comp", "restype", "blockid", "prefix", "delimiter", "marker", "maxresults", "include", "timeout",
	"list-type", "max-keys", "start-after", "continuation-token", "encoding-type", "fetch-owner",
	"uploadId", "partNumber", "uploads", "x-id", "copyid", "api-version",
}

// logRequest logs an attempt's request line and allowed headers at Info
// (azurecore-http-logging-request-line), and the proxy it goes through
// (azurecore-http-proxy-always-log).
func (p *Pipeline) logRequest(r *http.Request, attempt int) {
	if p.log == nil || !p.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	attrs := []any{slog.String("driver", p.cfg.Driver), slog.String("method", r.Method),
		slog.String("url", redactURL(r.URL)), slog.Int("attempt", attempt), headerGroup(r.Header)}
	if proxy := p.proxyFor(r); proxy != "" {
		attrs = append(attrs, slog.String("proxy", proxy))
	}
	p.log.InfoContext(r.Context(), "objstore: request", attrs...)
}

// logResponse logs an attempt's response line and allowed headers at
// Info, or its failure; a 407 from a proxy at Warn
// (azurecore-http-proxy-logging).
func (p *Pipeline) logResponse(r *http.Request, resp *http.Response, err error, took time.Duration) {
	if p.log == nil {
		return
	}
	ctx := r.Context()
	base := []any{slog.String("driver", p.cfg.Driver), slog.String("method", r.Method), slog.String("url", redactURL(r.URL)),
		slog.Duration("took", took)}
	switch {
	case err != nil && strings.Contains(err.Error(), "Proxy Authentication Required"):
		p.log.WarnContext(ctx, "objstore: the proxy requires authentication (407): put user:password in the proxy URL",
			append(base, slog.String("proxy", p.proxyFor(r)), slog.String("error", redactError(err)))...)
	case err != nil:
		p.log.InfoContext(ctx, "objstore: no response", append(base, slog.String("error", redactError(err)))...)
	case resp.StatusCode == http.StatusProxyAuthRequired:
		p.log.WarnContext(ctx, "objstore: the proxy requires authentication (407): put user:password in the proxy URL",
			append(base, slog.String("proxy", p.proxyFor(r)), slog.String("status", resp.Status), headerGroup(resp.Header))...)
	default:
		p.log.InfoContext(ctx, "objstore: response",
			append(base, slog.Int("status", resp.StatusCode), headerGroup(resp.Header))...)
	}
}

// proxyFor is the proxy r goes through, without credentials, or "".
func (p *Pipeline) proxyFor(r *http.Request) string {
	if p.cfg.Proxy == nil || p.cfg.Base.Transport != nil {
		return ""
	}
	u, err := p.cfg.Proxy(r.URL)
	if err != nil || u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// headerGroup is the headers as a log group, the values of those not
// allowed replaced by REDACTED.
func headerGroup(h http.Header) slog.Attr {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]any, 0, len(keys))
	for _, k := range keys {
		v := redacted
		if slices.Contains(allowedHeaders, http.CanonicalHeaderKey(k)) {
			v = redact.String(strings.Join(h[k], ", "))
		}
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.Group("headers", attrs...)
}

// redactURL is u for a log: no user information, and the values of query
// parameters not on the allow list replaced by REDACTED (SAS signatures,
// presigned X-Amz-Signature and X-Amz-Credential, tokens).
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			if !slices.Contains(allowedQuery, k) {
				for i := range vs {
					vs[i] = redacted
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// redactError is an error's text for a log: URLs in it (net/http puts the
// request URL in its errors) lose their secrets.
func redactError(err error) string {
	msg := err.Error()
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
	}
	if ue != nil {
		if u, perr := url.Parse(ue.URL); perr == nil {
			msg = strings.ReplaceAll(msg, ue.URL, redactURL(u))
		}
	}
	return redact.String(msg)
}

// redactHandler passes every string the pipeline logs through
// objstore.Redact as well, in case a secret shows in a place the allow
// lists do not cover (an error's text, a key).
type redactHandler struct{ h slog.Handler }

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }
func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redactAttr(a)
	}
	return redactHandler{r.h.WithAttrs(out)}
}
func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }
func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, redact.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = redactAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, redactError(err))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// levelHandler drops records below a level.
type levelHandler struct {
	h     slog.Handler
	level slog.Leveler
}

func (l levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.level.Level() && l.h.Enabled(ctx, lv)
}
func (l levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{l.h.WithAttrs(as), l.level}
}
func (l levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{l.h.WithGroup(name), l.level}
}
func (l levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }
