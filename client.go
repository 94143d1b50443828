package objstore

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// ClientOptions configure the HTTP pipeline of the network drivers (s3,
// azblob): retries, telemetry, logging, tracing, proxy and transport
// bounds. The same settings mean the same behaviour on every driver; see
// docs/CONFIG.md for each one's URL parameter, environment variable,
// default, and the test that proves it.
//
// Settings come from four sources, each overriding the one before:
//
//  1. built-in defaults;
//  2. the environment: OBJSTORE_<PARAM>, such as OBJSTORE_RETRIES=5,
//     and HTTPS_PROXY, HTTP_PROXY and NO_PROXY for the proxy;
//  3. global defaults set in code with [SetDefaultClientOptions];
//  4. at run time, the driver's options (its ClientOptions field) and
//     then the store URL's parameters (retries=5).
//
// A zero field is unset and leaves the earlier source's value in place.
// IgnoreEnvironment, set in code or in the URL, skips source 2.
type ClientOptions struct {
	// Retry is the retry policy.
	Retry RetryOptions

	// ApplicationID is prepended to the User-Agent: at most 24 characters,
	// no spaces. A longer one or one with a space gives ErrInvalidArgument
	// at Open.
	ApplicationID string
	// Telemetry On (the default) sends "[<ApplicationID> ]objstore/<version>
	// (<go version>; <os>; <arch>)" before the SDK's own User-Agent; Off
	// sends no User-Agent header at all.
	Telemetry Toggle

	// Logger receives the pipeline's logs: request and response lines at
	// Info, a failed operation at Warn, a retried attempt at Debug. Nil
	// means no logging unless LogLevel is set, which then logs as text to
	// stderr. Secrets are redacted at every level.
	Logger *slog.Logger
	// LogLevel is the least level logged: nil leaves the Logger's own
	// handler to decide (or, without a Logger, logs nothing).
	LogLevel slog.Leveler

	// TracerProvider, if set, gives one span per Store operation and one
	// child span per HTTP attempt, and sends traceparent and tracestate.
	// Nil with Tracing On uses the OpenTelemetry global provider; with
	// neither, tracing costs nothing.
	TracerProvider trace.TracerProvider
	// Tracing Off disables tracing even when a TracerProvider is set.
	Tracing Toggle

	// Proxy is "" (unset: HTTPS_PROXY, HTTP_PROXY and NO_PROXY, with CIDR
	// ranges, from the environment), "off" (never use a proxy), or a
	// proxy URL such as http://user:password@proxy:3128, whose user
	// information is sent as Basic proxy authentication.
	Proxy string

	// Transport bounds. Zero fields are unset; the built-in defaults are
	// a 10 s connect timeout, a 30 s keepalive period, 30 s idle
	// connections and a 30 s read timeout.
	ConnectTimeout  time.Duration // dialling and TLS handshake
	KeepAlive       time.Duration // TCP keepalive period
	IdleConnTimeout time.Duration // pooled connections idle this long are closed
	ReadTimeout     time.Duration // a response that sends nothing this long fails

	// Transport, if set, replaces the base HTTP transport, under the
	// pipeline's retry, logging and tracing. The transport bounds and
	// Proxy do not apply to it.
	Transport http.RoundTripper

	// IgnoreEnvironment skips the OBJSTORE_* variables and the proxy
	// variables.
	IgnoreEnvironment bool

	// AllowInsecureEndpoint lets a store that attaches credentials to its
	// requests (signatures, a key, a SAS, a token) send them over plain
	// http to a host that is not loopback. By default such an endpoint is
	// refused at Open with ErrInvalidArgument: plain http is allowed only
	// for 127.0.0.0/8, ::1 and localhost, or with no credentials
	// (s3 anonymous=true). Only code can set it, here or in
	// [SetDefaultClientOptions]; there is no URL parameter or environment
	// variable for it, because a store URL is configuration that may be
	// less trusted than the process's credentials. See docs/CONFIG.md.
	AllowInsecureEndpoint bool
}

// RetryOptions are the retry policy. A zero field is unset.
type RetryOptions struct {
	// Mode is exponential (the default) or fixed backoff.
	Mode RetryMode
	// MaxRetries is how many times a failed attempt is retried: 3 by
	// default; a negative value turns retrying off (retries=0 in a URL).
	MaxRetries int
	// Delay is the fixed delay, or the first delay of the exponential
	// backoff, which doubles it after every attempt; 0.8 s by default.
	// Each delay is varied by ±20% of jitter.
	Delay time.Duration
	// MaxDelay caps every delay, including one a Retry-After header asks
	// for; 60 s by default.
	MaxDelay time.Duration
	// StatusCodes are the response codes that are retried: 408, 429, 500,
	// 502, 503 and 504 by default. Any other 4xx is retried only when it
	// carries Retry-After (or x-ms-retry-after-ms, retry-after-ms).
	StatusCodes []int
}

// RetryMode is the backoff of RetryOptions.
type RetryMode int

const (
	RetryModeUnset       RetryMode = iota
	RetryModeExponential           // Delay, 2×Delay, 4×Delay, … up to MaxDelay
	RetryModeFixed                 // Delay every time
)

func (m RetryMode) String() string {
	switch m {
	case RetryModeExponential:
		return "exponential"
	case RetryModeFixed:
		return "fixed"
	}
	return "unset"
}

// Toggle is an on/off setting whose zero value is unset.
type Toggle int

const (
	ToggleUnset Toggle = iota
	On
	Off
)

func (t Toggle) String() string {
	switch t {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "unset"
}

var globalClientOptions struct {
	mu   sync.RWMutex
	opts ClientOptions
}

// SetDefaultClientOptions sets the global defaults for every network
// store opened after the call (source 3 of [ClientOptions]). Its set
// fields override the environment; the driver's options and the URL
// override them.
func SetDefaultClientOptions(o ClientOptions) {
	globalClientOptions.mu.Lock()
	defer globalClientOptions.mu.Unlock()
	o.Retry.StatusCodes = append([]int(nil), o.Retry.StatusCodes...)
	globalClientOptions.opts = o
}

// DefaultClientOptions returns what [SetDefaultClientOptions] set.
func DefaultClientOptions() ClientOptions {
	globalClientOptions.mu.RLock()
	defer globalClientOptions.mu.RUnlock()
	o := globalClientOptions.opts
	o.Retry.StatusCodes = append([]int(nil), o.Retry.StatusCodes...)
	return o
}
