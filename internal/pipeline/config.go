// Package pipeline is the HTTP pipeline the network drivers (s3, azblob)
// share: configuration from defaults, environment, code and URL; retries;
// telemetry; logging with redaction; OpenTelemetry tracing; proxy; and a
// transport with bounded timeouts. The SDKs' own retries are switched off
// and every request goes through [Pipeline.RoundTrip], so a setting means
// the same on every driver.
package pipeline

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/objstore-go/objstore"
	objdriver "github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/redact"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http/httpproxy"
)

// The URL parameters of the pipeline. Each one's environment variable is
// OBJSTORE_ followed by its name in upper case.
const (
	ParamRetryMode      = "retry_mode"
	ParamRetries        = "retries"
	ParamRetryDelay     = "retry_delay"
	ParamRetryMaxDelay  = "retry_max_delay"
	ParamRetryStatus    = "retry_status"
	ParamAppID          = "app_id"
	ParamTelemetry      = "telemetry"
	ParamLogLevel       = "log_level"
	ParamTracing        = "tracing"
	ParamProxy          = "proxy"
	ParamConnectTimeout = "connect_timeout"
	ParamKeepAlive      = "keepalive"
	ParamIdleTimeout    = "idle_timeout"
	ParamReadTimeout    = "read_timeout"
	ParamIgnoreEnv      = "ignore_env"
)

// Params are the URL parameters a driver passes on to [Resolve]; drivers
// add them to the parameters they accept.
var Params = []string{
	ParamRetryMode, ParamRetries, ParamRetryDelay, ParamRetryMaxDelay, ParamRetryStatus,
	ParamAppID, ParamTelemetry, ParamLogLevel, ParamTracing, ParamProxy,
	ParamConnectTimeout, ParamKeepAlive, ParamIdleTimeout, ParamReadTimeout, ParamIgnoreEnv,
}

// EnvName is the environment variable of a URL parameter.
func EnvName(param string) string { return "OBJSTORE_" + strings.ToUpper(param) }

// maxAppID is the longest application ID (azurecore-http-telemetry-appid-length).
const maxAppID = 24

// Config is a resolved configuration: every setting has its value.
type Config struct {
	Driver string

	RetryMode   objstore.RetryMode
	MaxRetries  int // >= 0
	RetryDelay  time.Duration
	MaxDelay    time.Duration
	StatusCodes []int

	AppID     string
	Telemetry bool

	Logger *slog.Logger // nil: no logging

	TracerProvider trace.TracerProvider // nil: no tracing

	// Proxy picks the proxy of a request; nil means none.
	Proxy func(*url.URL) (*url.URL, error)

	ConnectTimeout  time.Duration
	KeepAlive       time.Duration
	IdleConnTimeout time.Duration
	ReadTimeout     time.Duration // <= 0: none

	Base objstore.ClientOptions // only Transport is used from it

	// AllowInsecureEndpoint is ClientOptions.AllowInsecureEndpoint, set
	// in code; see [Config.CheckEndpoint].
	AllowInsecureEndpoint bool

	// TLS, if set, is the base transport's TLS configuration: a driver
	// passes the SDK's, which carries a custom CA bundle (AWS_CA_BUNDLE).
	TLS *tls.Config

	// Sources says where each setting came from, by URL parameter name:
	// "default", "environment (OBJSTORE_RETRIES)", "global options",
	// "options", "URL".
	Sources map[string]string
}

// Getenv looks a variable up; tests replace it.
var Getenv = os.LookupEnv

// Resolve merges the four sources of configuration for driver: the
// built-in defaults, the environment, the global defaults of
// [objstore.SetDefaultClientOptions], then opts (the driver's options,
// may be nil) and query (the URL's parameters; only the keys in Params
// are read). A bad value gives ErrInvalidArgument naming where it came
// from.
func Resolve(driver string, query map[string]string, opts *objstore.ClientOptions) (Config, error) {
	fromURL, err := parse(driver, "URL parameter %s", func(p string) (string, bool) {
		v, ok := query[p]
		return v, ok
	})
	if err != nil {
		return Config{}, err
	}
	global := objstore.DefaultClientOptions()
	var code objstore.ClientOptions
	if opts != nil {
		code = *opts
	}
	ignoreEnv := global.IgnoreEnvironment || code.IgnoreEnvironment || fromURL.IgnoreEnvironment

	var merged objstore.ClientOptions
	sources := map[string]string{}
	envProxy := ""
	if !ignoreEnv {
		fromEnv, err := parse(driver, "environment variable %s", func(p string) (string, bool) {
			return Getenv(EnvName(p))
		})
		if err != nil {
			return Config{}, err
		}
		merge(&merged, fromEnv, sources, func(p string) string { return "environment (" + EnvName(p) + ")" })
		for _, name := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
			if _, ok := Getenv(name); ok {
				envProxy += name + " "
			}
		}
	}
	merge(&merged, global, sources, func(string) string { return "global options" })
	merge(&merged, code, sources, func(string) string { return "options" })
	merge(&merged, fromURL, sources, func(string) string { return "URL" })
	if err := check(driver, merged, sources); err != nil {
		return Config{}, err
	}
	return finish(driver, merged, sources, ignoreEnv, strings.TrimSpace(envProxy))
}

// parse reads the settings that lookup finds into ClientOptions. where
// formats the name of a setting for errors.
func parse(driver, where string, lookup func(param string) (string, bool)) (objstore.ClientOptions, error) {
	var o objstore.ClientOptions
	bad := func(p, v, want string) error {
		name := p
		if strings.HasPrefix(where, "environment") {
			name = EnvName(p)
		}
		return invalidArgument(driver,
			fmt.Sprintf("%s=%q: %s", fmt.Sprintf(where, name), redact.String(v), want))
	}
	dur := func(p string, dst *time.Duration, allowNegative bool) error {
		v, ok := lookup(p)
		if !ok || v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d == 0 || (d < 0 && !allowNegative) {
			return bad(p, v, "want a positive duration such as 800ms or 30s")
		}
		*dst = d
		return nil
	}
	toggle := func(p string, dst *objstore.Toggle) error {
		v, ok := lookup(p)
		if !ok || v == "" {
			return nil
		}
		switch strings.ToLower(v) {
		case "on", "true", "1", "yes":
			*dst = objstore.On
		case "off", "false", "0", "no":
			*dst = objstore.Off
		default:
			return bad(p, v, "want on or off")
		}
		return nil
	}
	if v, ok := lookup(ParamRetryMode); ok && v != "" {
		switch strings.ToLower(v) {
		case "exponential":
			o.Retry.Mode = objstore.RetryModeExponential
		case "fixed":
			o.Retry.Mode = objstore.RetryModeFixed
		default:
			return o, bad(ParamRetryMode, v, "want exponential or fixed")
		}
	}
	if v, ok := lookup(ParamRetries); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return o, bad(ParamRetries, v, "want a number of retries from 0 (no retries) to 100")
		}
		if n == 0 {
			n = -1
		}
		o.Retry.MaxRetries = n
	}
	if err := dur(ParamRetryDelay, &o.Retry.Delay, false); err != nil {
		return o, err
	}
	if err := dur(ParamRetryMaxDelay, &o.Retry.MaxDelay, false); err != nil {
		return o, err
	}
	if v, ok := lookup(ParamRetryStatus); ok && v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 400 || n > 599 {
				return o, bad(ParamRetryStatus, v, "want HTTP status codes from 400 to 599 separated by commas, such as 429,503")
			}
			o.Retry.StatusCodes = append(o.Retry.StatusCodes, n)
		}
	}
	if v, ok := lookup(ParamAppID); ok {
		o.ApplicationID = v
	}
	if err := toggle(ParamTelemetry, &o.Telemetry); err != nil {
		return o, err
	}
	if v, ok := lookup(ParamLogLevel); ok && v != "" {
		var l slog.Level
		if strings.EqualFold(v, "off") {
			l = slog.Level(1 << 30) // above every level
		} else if err := l.UnmarshalText([]byte(v)); err != nil {
			return o, bad(ParamLogLevel, v, "want debug, info, warn, error or off")
		}
		o.LogLevel = l
	}
	if err := toggle(ParamTracing, &o.Tracing); err != nil {
		return o, err
	}
	if v, ok := lookup(ParamProxy); ok {
		o.Proxy = v
	}
	if err := dur(ParamConnectTimeout, &o.ConnectTimeout, false); err != nil {
		return o, err
	}
	if err := dur(ParamKeepAlive, &o.KeepAlive, true); err != nil {
		return o, err
	}
	if err := dur(ParamIdleTimeout, &o.IdleConnTimeout, false); err != nil {
		return o, err
	}
	if err := dur(ParamReadTimeout, &o.ReadTimeout, true); err != nil {
		return o, err
	}
	if v, ok := lookup(ParamIgnoreEnv); ok && v != "" {
		b, err := objdriver.ParseBool(ParamIgnoreEnv, v)
		if err != nil {
			return o, err
		}
		o.IgnoreEnvironment = b
	}
	return o, nil
}

// merge copies the set fields of src over dst and records their source.
func merge(dst *objstore.ClientOptions, src objstore.ClientOptions, sources map[string]string, source func(param string) string) {
	set := func(p string) { sources[p] = source(p) }
	if src.Retry.Mode != objstore.RetryModeUnset {
		dst.Retry.Mode = src.Retry.Mode
		set(ParamRetryMode)
	}
	if src.Retry.MaxRetries != 0 {
		dst.Retry.MaxRetries = src.Retry.MaxRetries
		set(ParamRetries)
	}
	if src.Retry.Delay != 0 {
		dst.Retry.Delay = src.Retry.Delay
		set(ParamRetryDelay)
	}
	if src.Retry.MaxDelay != 0 {
		dst.Retry.MaxDelay = src.Retry.MaxDelay
		set(ParamRetryMaxDelay)
	}
	if len(src.Retry.StatusCodes) > 0 {
		dst.Retry.StatusCodes = slices.Clone(src.Retry.StatusCodes)
		set(ParamRetryStatus)
	}
	if src.ApplicationID != "" {
		dst.ApplicationID = src.ApplicationID
		set(ParamAppID)
	}
	if src.Telemetry != objstore.ToggleUnset {
		dst.Telemetry = src.Telemetry
		set(ParamTelemetry)
	}
	if src.Logger != nil {
		dst.Logger = src.Logger
		sources["logger"] = source("logger")
	}
	if src.LogLevel != nil {
		dst.LogLevel = src.LogLevel
		set(ParamLogLevel)
	}
	if src.TracerProvider != nil {
		dst.TracerProvider = src.TracerProvider
		sources["tracer_provider"] = source("tracer_provider")
	}
	if src.Tracing != objstore.ToggleUnset {
		dst.Tracing = src.Tracing
		set(ParamTracing)
	}
	if src.Proxy != "" {
		dst.Proxy = src.Proxy
		set(ParamProxy)
	}
	if src.ConnectTimeout != 0 {
		dst.ConnectTimeout = src.ConnectTimeout
		set(ParamConnectTimeout)
	}
	if src.KeepAlive != 0 {
		dst.KeepAlive = src.KeepAlive
		set(ParamKeepAlive)
	}
	if src.IdleConnTimeout != 0 {
		dst.IdleConnTimeout = src.IdleConnTimeout
		set(ParamIdleTimeout)
	}
	if src.ReadTimeout != 0 {
		dst.ReadTimeout = src.ReadTimeout
		set(ParamReadTimeout)
	}
	if src.Transport != nil {
		dst.Transport = src.Transport
		sources["transport"] = source("transport")
	}
	if src.IgnoreEnvironment {
		dst.IgnoreEnvironment = true
		set(ParamIgnoreEnv)
	}
	if src.AllowInsecureEndpoint {
		// parse never sets it: only code (global or store options) can.
		dst.AllowInsecureEndpoint = true
		sources["allow_insecure_endpoint"] = source("allow_insecure_endpoint")
	}
}

// check validates what code set (what parse read is valid already).
func check(driver string, o objstore.ClientOptions, sources map[string]string) error {
	bad := func(p, msg string) error {
		return invalidArgument(driver, fmt.Sprintf("%s (set by %s): %s", p, sources[p], msg))
	}
	if id := o.ApplicationID; len(id) > maxAppID || strings.ContainsAny(id, " \t\r\n") {
		return bad(ParamAppID, fmt.Sprintf("the application ID %q must be at most %d characters with no spaces, such as myapp/1.2", id, maxAppID))
	}
	for _, c := range o.Retry.StatusCodes {
		if c < 400 || c > 599 {
			return bad(ParamRetryStatus, fmt.Sprintf("%d is not an HTTP error status; give codes from 400 to 599", c))
		}
	}
	if o.Retry.Mode < objstore.RetryModeUnset || o.Retry.Mode > objstore.RetryModeFixed {
		return bad(ParamRetryMode, "unknown retry mode; use RetryModeExponential or RetryModeFixed")
	}
	if o.Retry.Delay < 0 || o.Retry.MaxDelay < 0 || o.ConnectTimeout < 0 || o.IdleConnTimeout < 0 {
		return bad("durations", "retry delays, connect and idle timeouts must be positive")
	}
	if p := o.Proxy; p != "" && p != "off" {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return bad(ParamProxy, fmt.Sprintf("%q is neither off nor a proxy URL such as http://proxy.example.com:3128", redact.String(redactUserinfo(p))))
		}
	}
	return nil
}

// finish applies the built-in defaults and builds the Config.
func finish(driver string, o objstore.ClientOptions, sources map[string]string, ignoreEnv bool, envProxy string) (Config, error) {
	c := Config{
		Driver:          driver,
		RetryMode:       o.Retry.Mode,
		MaxRetries:      o.Retry.MaxRetries,
		RetryDelay:      o.Retry.Delay,
		MaxDelay:        o.Retry.MaxDelay,
		StatusCodes:     o.Retry.StatusCodes,
		AppID:           o.ApplicationID,
		Telemetry:       o.Telemetry != objstore.Off,
		ConnectTimeout:  o.ConnectTimeout,
		KeepAlive:       o.KeepAlive,
		IdleConnTimeout: o.IdleConnTimeout,
		ReadTimeout:     o.ReadTimeout,
		Base:            objstore.ClientOptions{Transport: o.Transport},
		Sources:         sources,

		AllowInsecureEndpoint: o.AllowInsecureEndpoint,
	}
	def := func(p string, cond bool, apply func()) {
		if cond {
			apply()
			sources[p] = "default"
		}
	}
	def(ParamRetryMode, c.RetryMode == objstore.RetryModeUnset, func() { c.RetryMode = objstore.RetryModeExponential })
	def(ParamRetries, c.MaxRetries == 0, func() { c.MaxRetries = DefaultMaxRetries })
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	def(ParamRetryDelay, c.RetryDelay == 0, func() { c.RetryDelay = DefaultRetryDelay })
	def(ParamRetryMaxDelay, c.MaxDelay == 0, func() { c.MaxDelay = DefaultMaxRetryDelay })
	def(ParamRetryStatus, len(c.StatusCodes) == 0, func() { c.StatusCodes = DefaultRetryStatusCodes() })
	def(ParamTelemetry, o.Telemetry == objstore.ToggleUnset, func() {})
	def(ParamConnectTimeout, c.ConnectTimeout == 0, func() { c.ConnectTimeout = DefaultConnectTimeout })
	def(ParamKeepAlive, c.KeepAlive == 0, func() { c.KeepAlive = DefaultKeepAlive })
	def(ParamIdleTimeout, c.IdleConnTimeout == 0, func() { c.IdleConnTimeout = DefaultIdleConnTimeout })
	def(ParamReadTimeout, c.ReadTimeout == 0, func() { c.ReadTimeout = DefaultReadTimeout })

	// Logging: a Logger, a level, both, or neither (off).
	switch {
	case o.Logger != nil && o.LogLevel != nil:
		c.Logger = slog.New(levelHandler{o.Logger.Handler(), o.LogLevel})
	case o.Logger != nil:
		c.Logger = o.Logger
	case o.LogLevel != nil && o.LogLevel.Level() < slog.Level(1<<30):
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.LogLevel}))
	}
	if c.Logger != nil {
		c.Logger = slog.New(redactHandler{c.Logger.Handler()})
	}

	// Tracing: a provider, unless switched off; the global one if only
	// switched on.
	switch {
	case o.Tracing == objstore.Off:
	case o.TracerProvider != nil:
		c.TracerProvider = o.TracerProvider
	case o.Tracing == objstore.On:
		c.TracerProvider = otel.GetTracerProvider()
	}

	// Proxy.
	switch {
	case o.Proxy == "off":
	case o.Proxy != "":
		pu, _ := url.Parse(o.Proxy)
		c.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
	case ignoreEnv:
		sources[ParamProxy] = "none (environment ignored)"
	case envProxy != "":
		c.Proxy = envProxyFunc()
		sources[ParamProxy] = "environment (" + envProxy + ")"
	default:
		sources[ParamProxy] = "none"
	}
	return c, nil
}

// envProxyFunc reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY (which takes
// CIDR ranges) now, not once per process as http.ProxyFromEnvironment
// does.
func envProxyFunc() func(*url.URL) (*url.URL, error) {
	get := func(k string) string {
		v, _ := Getenv(k)
		return v
	}
	first := func(a, b string) string {
		if v := get(a); v != "" {
			return v
		}
		return get(b)
	}
	cfg := httpproxy.Config{
		HTTPProxy:  first("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: first("HTTPS_PROXY", "https_proxy"),
		NoProxy:    first("NO_PROXY", "no_proxy"),
	}
	return cfg.ProxyFunc()
}

// logSources logs at Debug where each setting came from
// (azurecore-config-log-config-settings).
func (c Config) logSources() {
	if c.Logger == nil || !c.Logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	keys := make([]string, 0, len(c.Sources))
	for k := range c.Sources {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]any, 0, 2*len(keys)+2)
	attrs = append(attrs, slog.String("driver", c.Driver))
	for _, k := range keys {
		attrs = append(attrs, slog.String(k, c.describe(k)+" from "+c.Sources[k]))
	}
	c.Logger.Debug("objstore: configuration", attrs...)
}

// describe is the value of one setting, fit for a log.
func (c Config) describe(param string) string {
	switch param {
	case ParamRetryMode:
		return c.RetryMode.String()
	case ParamRetries:
		return strconv.Itoa(c.MaxRetries)
	case ParamRetryDelay:
		return c.RetryDelay.String()
	case ParamRetryMaxDelay:
		return c.MaxDelay.String()
	case ParamRetryStatus:
		return fmt.Sprint(c.StatusCodes)
	case ParamAppID:
		return strconv.Quote(c.AppID)
	case ParamTelemetry:
		if c.Telemetry {
			return "on"
		}
		return "off"
	case ParamTracing:
		if c.TracerProvider != nil {
			return "on"
		}
		return "off"
	case ParamProxy:
		if c.Proxy == nil {
			return "off"
		}
		return "on"
	case ParamConnectTimeout:
		return c.ConnectTimeout.String()
	case ParamKeepAlive:
		return c.KeepAlive.String()
	case ParamIdleTimeout:
		return c.IdleConnTimeout.String()
	case ParamReadTimeout:
		return c.ReadTimeout.String()
	}
	return "set"
}

// redactUserinfo hides the password of a URL.
func redactUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// The built-in defaults of objstore.ClientOptions.
const (
	DefaultMaxRetries      = 3
	DefaultRetryDelay      = 800 * time.Millisecond
	DefaultMaxRetryDelay   = 60 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultKeepAlive       = 30 * time.Second
	DefaultIdleConnTimeout = 30 * time.Second
	DefaultReadTimeout     = 30 * time.Second
)

// DefaultRetryStatusCodes are the response codes retried by default.
func DefaultRetryStatusCodes() []int { return []int{408, 429, 500, 502, 503, 504} }

// invalidArgument is the error of a setting refused when a store is
// opened.
func invalidArgument(driver, msg string) error {
	return &objstore.Error{Driver: driver, Op: "open", Kind: objstore.ErrInvalidArgument, Err: errors.New(msg)}
}
