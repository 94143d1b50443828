package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
)

// fakeEnv replaces the environment for one test.
func fakeEnv(t *testing.T, env map[string]string) {
	old := Getenv
	Getenv = func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
	t.Cleanup(func() { Getenv = old })
}

// globalOptions sets the global defaults for one test.
func globalOptions(t *testing.T, o objstore.ClientOptions) {
	old := objstore.DefaultClientOptions()
	objstore.SetDefaultClientOptions(o)
	t.Cleanup(func() { objstore.SetDefaultClientOptions(old) })
}

// TestConfigOrder: defaults, then the environment, then global options in
// code, then the driver's options, then the URL; each later source wins
// (azurecore-config-ordering), and Sources says which one did.
func TestConfigOrder(t *testing.T) {
	fakeEnv(t, map[string]string{
		"OBJSTORE_RETRIES": "5", "OBJSTORE_RETRY_DELAY": "2s", "OBJSTORE_RETRY_MAX_DELAY": "9s",
		"OBJSTORE_READ_TIMEOUT": "7s", "OBJSTORE_APP_ID": "from-env",
	})
	globalOptions(t, objstore.ClientOptions{Retry: objstore.RetryOptions{Delay: 3 * time.Second, MaxDelay: 10 * time.Second}, ApplicationID: "from-global"})
	c, err := Resolve("s3", map[string]string{"retry_max_delay": "11s"},
		&objstore.ClientOptions{Retry: objstore.RetryOptions{MaxDelay: 12 * time.Second}, ApplicationID: "from-options"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		param, source string
		ok            bool
	}{
		{ParamRetryMode, "default", c.RetryMode == objstore.RetryModeExponential},
		{ParamRetries, "environment (OBJSTORE_RETRIES)", c.MaxRetries == 5},
		{ParamReadTimeout, "environment (OBJSTORE_READ_TIMEOUT)", c.ReadTimeout == 7*time.Second},
		{ParamRetryDelay, "global options", c.RetryDelay == 3*time.Second},
		{ParamAppID, "options", c.AppID == "from-options"},
		{ParamRetryMaxDelay, "URL", c.MaxDelay == 11*time.Second},
		{ParamConnectTimeout, "default", c.ConnectTimeout == 10*time.Second},
	} {
		if !tt.ok || c.Sources[tt.param] != tt.source {
			t.Errorf("%s: value wrong or source %q, want from %s (config %+v)", tt.param, c.Sources[tt.param], tt.source, c)
		}
	}
}

// TestConfigIgnoreEnvironment: one switch, in code or in the URL, skips
// the OBJSTORE_* and proxy variables (azurecore-config-opt-out).
func TestConfigIgnoreEnvironment(t *testing.T) {
	fakeEnv(t, map[string]string{"OBJSTORE_RETRIES": "9", "HTTPS_PROXY": "http://proxy.example:3128"})
	for name, resolve := range map[string]func() (Config, error){
		"options": func() (Config, error) {
			return Resolve("s3", nil, &objstore.ClientOptions{IgnoreEnvironment: true})
		},
		"URL": func() (Config, error) { return Resolve("s3", map[string]string{"ignore_env": "true"}, nil) },
	} {
		c, err := resolve()
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxRetries != 3 || c.Proxy != nil {
			t.Errorf("%s: ignoring the environment still took retries=%d, proxy set %v", name, c.MaxRetries, c.Proxy != nil)
		}
	}
	c, err := Resolve("s3", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxRetries != 9 || c.Proxy == nil {
		t.Errorf("without the switch the environment is read: retries=%d, proxy set %v", c.MaxRetries, c.Proxy != nil)
	}
}

// TestConfigBadValues: a bad value is refused at Open, naming where it
// came from and what to write instead.
func TestConfigBadValues(t *testing.T) {
	fakeEnv(t, map[string]string{"OBJSTORE_RETRY_DELAY": "soon"})
	_, err := Resolve("s3", nil, nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "OBJSTORE_RETRY_DELAY") || !strings.Contains(err.Error(), "800ms") {
		t.Errorf("a bad environment value: %v", err)
	}
	fakeEnv(t, nil)
	for q, want := range map[string]string{
		"retries=-1":            "from 0",
		"retry_mode=linear":     "exponential or fixed",
		"retry_status=200":      "400 to 599",
		"telemetry=maybe":       "on or off",
		"log_level=loud":        "debug, info",
		"proxy=ftp://p":         "proxy URL",
		"proxy=http://u:pw@:1":  "proxy URL",
		"read_timeout=0s":       "positive duration",
		"app_id=" + "x y":       "no spaces",
		"connect_timeout=-1s":   "positive duration",
		"retry_max_delay=hours": "positive duration",
	} {
		v, _ := url.ParseQuery(q)
		m := map[string]string{}
		for k := range v {
			m[k] = v.Get(k)
		}
		_, err := Resolve("s3", m, nil)
		if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want ErrInvalidArgument saying %q", q, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the error shows the proxy password: %v", q, err)
		}
	}
}

// TestConfigSourcesLogged: at Open, each setting's source is logged at
// Debug (azurecore-config-log-config-settings).
func TestConfigSourcesLogged(t *testing.T) {
	fakeEnv(t, map[string]string{"OBJSTORE_RETRIES": "4"})
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := Resolve("azblob", map[string]string{"read_timeout": "5s"}, &objstore.ClientOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	New(c)
	logs := buf.String()
	for _, want := range []string{"level=DEBUG", `retries="4 from environment (OBJSTORE_RETRIES)"`, `read_timeout="5s from URL"`, `retry_delay="800ms from default"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in %s", want, logs)
		}
	}
}

// TestLogLevelFromEnvironment: OBJSTORE_LOG_LEVEL alone turns logging on;
// nothing logs without it or a Logger.
func TestLogLevelFromEnvironment(t *testing.T) {
	fakeEnv(t, nil)
	c, err := Resolve("s3", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Logger != nil {
		t.Error("logging is on with neither a Logger nor a level")
	}
	fakeEnv(t, map[string]string{"OBJSTORE_LOG_LEVEL": "warn"})
	c, err = Resolve("s3", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Logger == nil || c.Logger.Enabled(context.Background(), slog.LevelInfo) || !c.Logger.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("OBJSTORE_LOG_LEVEL=warn did not give a logger at Warn")
	}
}

// TestProxyFromEnvironment: HTTPS_PROXY for https, HTTP_PROXY for http,
// NO_PROXY by name and by CIDR range (azurecore-config-envvars-no-proxy-cidr),
// and proxy=off or a URL per store.
func TestProxyFromEnvironment(t *testing.T) {
	fakeEnv(t, map[string]string{
		"HTTPS_PROXY": "http://secure-proxy:3128", "HTTP_PROXY": "http://plain-proxy:3128",
		"NO_PROXY": "internal.example,10.0.0.0/8",
	})
	c, err := Resolve("s3", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"https://acct.blob.core.windows.net/c": "secure-proxy:3128",
		"http://s3.example.com/b":              "plain-proxy:3128",
		"https://internal.example/b":           "",
		"https://10.1.2.3:9000/b":              "",
		"https://11.1.2.3:9000/b":              "secure-proxy:3128",
	} {
		u, _ := url.Parse(target)
		p, err := c.Proxy(u)
		got := ""
		if p != nil {
			got = p.Host
		}
		if err != nil || got != want {
			t.Errorf("proxy for %s: %q, %v; want %q", target, got, err, want)
		}
	}
	c, _ = Resolve("s3", map[string]string{"proxy": "off"}, nil)
	if c.Proxy != nil {
		t.Error("proxy=off kept the environment's proxy")
	}
	c, _ = Resolve("s3", map[string]string{"proxy": "http://u:p@mine:8080"}, nil)
	u, _ := url.Parse("https://10.1.2.3/b")
	if p, _ := c.Proxy(u); p == nil || p.Host != "mine:8080" || p.User.Username() != "u" {
		t.Errorf("proxy=URL gave %v", p)
	}
}
