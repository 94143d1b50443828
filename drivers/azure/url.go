package azure

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Scheme is the URL scheme this package registers.
const Scheme = "azblob"

func init() {
	objstore.Register(Scheme, func(ctx context.Context, u *url.URL) (objstore.Store, error) {
		return openURL(ctx, u, nil)
	})
}

// The URL parameters the driver accepts.
const (
	paramAccount     = "account"
	paramEndpoint    = "endpoint"
	paramCredential  = "credential"
	paramCopy        = "copy"
	paramBlockSize   = "block_size"
	paramConcurrency = "concurrency"
)

var urlParams = []string{paramAccount, paramEndpoint, paramCredential, paramCopy, paramBlockSize, paramConcurrency, driver.KeysParam}

// credentialHint is what an error about a secret in the URL points to.
const credentialHint = "azblob never takes secrets in the URL: set credential=NAME and put the secret in the environment " +
	"as AZSTORE_<NAME>_KEY (account key), AZSTORE_<NAME>_CONNECTION_STRING or AZSTORE_<NAME>_SAS; " +
	"without credential= the driver uses azidentity's DefaultAzureCredential " +
	"(environment, workload identity, managed identity, Azure CLI)"

// Open opens the store that rawURL names, like [objstore.Open], with opts
// as the defaults the URL's parameters override. A nil opts means the
// defaults. The URL is
//
//	azblob://CONTAINER[/PREFIX]?account=NAME&endpoint=URL&credential=NAME&copy=auto|stream|server&block_size=SIZE&concurrency=N
//
// Every parameter is optional:
//
//   - account: the storage account. It is needed when there is no endpoint
//     and to sign requests with an account key. An emulator-style endpoint
//     that names the account as its path (Azurite's
//     http://127.0.0.1:10000/devstoreaccount1) gives it, and account= may
//     then be left out; an account= that differs from it is an error.
//   - endpoint: the Blob service URL, such as
//     http://127.0.0.1:10000/devstoreaccount1 for Azurite. The default is
//     https://ACCOUNT.blob.core.windows.net/. A plain-http endpoint
//     (here or in a connection string) must be loopback unless the code
//     sets ClientOptions.AllowInsecureEndpoint; otherwise Open gives
//     ErrInvalidArgument, because the credential would travel in clear.
//   - credential: names the environment variables the credential is read
//     from; see [Store] for the order. Without it, the driver uses
//     azidentity.DefaultAzureCredential, which needs an https endpoint.
//   - copy: how Copy works (see [CopyStrategy]); the default is auto.
//   - block_size: the block size of uploads, in bytes or with a KiB, MiB or
//     GiB suffix; the default is 8MiB.
//   - concurrency: blocks uploaded at once; the default is 4.
//   - keys: portable (the default) or native; native lets Put and Copy
//     create any blob name Azure can address (Options.Keys).
//
// Opening sends no request: a missing container or a wrong key shows up
// on the first operation. Any other parameter, a secret in the URL, a bad
// value or a credential that cannot be resolved gives ErrInvalidArgument.
func Open(ctx context.Context, rawURL string, opts *Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, which may hold a secret: say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument,
			Err: fmt.Errorf("malformed URL: %w", err), Hint: "an azblob URL looks like azblob://container/prefix?account=myaccount"}
	}
	switch {
	case u.Scheme != Scheme:
		return nil, invalid(fmt.Sprintf("the URL's scheme is %q; this driver opens %s:// URLs", u.Scheme, Scheme))
	}
	if err := driver.CheckURL(u); err != nil {
		if u.User != nil {
			err.Hint = credentialHint
		}
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: err.Kind, Err: err.Err, Hint: err.Hint}
	}
	s, err := openURL(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openURL opens the store u names; u has already passed objstore.Open's
// checks.
func openURL(_ context.Context, u *url.URL, opts *Options) (*Store, error) {
	q, err := driver.Query(u, append(slices.Clip(urlParams), pipeline.Params...), credentialHint)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if v, ok := q[paramCopy]; ok {
		if o.Copy, err = parseCopyStrategy(v); err != nil {
			return nil, err
		}
	}
	if v, ok := q[paramBlockSize]; ok {
		if o.BlockSize, err = parseSize(paramBlockSize, v); err != nil {
			return nil, err
		}
	}
	if v, ok := q[driver.KeysParam]; ok {
		if o.Keys, err = driver.ParseKeyMode(v); err != nil {
			return nil, err
		}
	}
	if v, ok := q[paramConcurrency]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConcurrency {
			return nil, invalid(fmt.Sprintf("URL parameter %s=%q is not a whole number from 1 to %d", paramConcurrency, v, maxConcurrency))
		}
		o.Concurrency = n
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := checkContainerName(u.Host); err != nil {
		return nil, err
	}
	if v, ok := q[paramAccount]; ok {
		if err := checkAccountName(v); err != nil {
			return nil, err
		}
	}
	if v, ok := q[paramEndpoint]; ok {
		if err := checkEndpoint(v); err != nil {
			return nil, err
		}
	}
	account, err := emulatorAccount(q[paramAccount], q[paramEndpoint])
	if err != nil {
		return nil, err
	}
	pipe, err := newPipeline(q, o)
	if err != nil {
		return nil, err
	}
	cfg, err := resolveCredential(q[paramCredential], account, q[paramEndpoint], lookupEnv)
	if err != nil {
		return nil, err
	}
	if err := checkEndpointPolicy(cfg, pipe); err != nil {
		return nil, err
	}
	return newFromConfig(cfg, u.Host, u.Path, o, pipe)
}

// invalid is the error of input refused when a store is opened.
func invalid(msg string) error {
	return &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: errors.New(msg)}
}

// checkContainerName applies Azure's rules for container names: 3 to 63
// lowercase letters, digits and hyphens, starting and ending with a letter
// or digit, with no two hyphens in a row. $root, $web and $logs are the
// special containers.
func checkContainerName(name string) error {
	switch name {
	case "":
		return invalid("the URL names no container; write azblob://container/prefix")
	case "$root", "$web", "$logs":
		return nil
	}
	bad := func(why string) error {
		return invalid(fmt.Sprintf("%q is not a valid container name: %s", name, why))
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("a container name is 3 to 63 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return bad("a hyphen must sit between letters or digits")
			}
		default:
			return bad("only lowercase letters, digits and hyphens are allowed")
		}
	}
	return nil
}

// checkAccountName applies Azure's rules for storage account names: 3 to
// 24 lowercase letters and digits.
func checkAccountName(name string) error {
	if len(name) < 3 || len(name) > 24 {
		return invalid(fmt.Sprintf("account=%q is not a storage account name: it is 3 to 24 lowercase letters and digits", name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return invalid(fmt.Sprintf("account=%q is not a storage account name: it is 3 to 24 lowercase letters and digits", name))
		}
	}
	return nil
}

// checkEndpoint accepts an http or https URL with a host, an optional path
// (Azurite puts the account there) and nothing else. A query would be a
// SAS, which is a secret.
func checkEndpoint(v string) error {
	e, err := url.Parse(v)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.Opaque != "" {
		return invalid(fmt.Sprintf("endpoint=%q is not an http or https URL such as https://myaccount.blob.core.windows.net", redactURL(v)))
	}
	if e.User != nil || e.RawQuery != "" || e.ForceQuery {
		return &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument,
			Err:  errors.New("the endpoint parameter carries user information or a query; a SAS or key there would be a secret in the URL"),
			Hint: credentialHint}
	}
	if e.Fragment != "" {
		return invalid("endpoint= has a fragment (#...)")
	}
	return nil
}

// emulatorAccount returns the storage account of a store: account= if it
// is set, else the account an emulator-style endpoint names in its path
// (http://127.0.0.1:10000/devstoreaccount1, Azurite's form, where the
// account is the path's one segment), else "". An account= that differs
// from the endpoint's gives ErrInvalidArgument naming both.
func emulatorAccount(account, endpoint string) (string, error) {
	if endpoint == "" {
		return account, nil
	}
	e, err := url.Parse(endpoint)
	if err != nil {
		return account, nil // checkEndpoint has refused it already
	}
	seg := strings.Trim(e.Path, "/")
	if seg == "" || strings.Contains(seg, "/") || checkAccountName(seg) != nil {
		return account, nil
	}
	if account != "" && account != seg {
		return "", invalid(fmt.Sprintf("account=%s and the endpoint's path, which names the account %s, differ; drop account= (the endpoint's path names it) or make them agree", account, seg))
	}
	return seg, nil
}

// checkEndpointPolicy applies the endpoint policy (see
// pipeline.Config.CheckEndpoint) to the resolved service URL, wherever it
// came from (endpoint=, a connection string's BlobEndpoint or
// DefaultEndpointsProtocol): every azblob store attaches a credential, so
// plain http needs a loopback host or ClientOptions.AllowInsecureEndpoint.
func checkEndpointPolicy(cfg *clientConfig, pipe *pipeline.Pipeline) error {
	what := map[credKind]string{
		credSharedKey: "SharedKey signatures (from " + cfg.source + ")",
		credSAS:       "a SAS (from " + cfg.source + ")",
		credToken:     "Entra ID tokens",
	}[cfg.kind]
	return pipe.Config().CheckEndpoint(cfg.serviceURL, what)
}

// redactURL shortens a URL that failed to parse to its scheme and host, so
// that an error never repeats a query.
func redactURL(v string) string {
	if i := strings.IndexAny(v, "?#@"); i >= 0 {
		return v[:i] + "..."
	}
	return v
}

// parseSize reads "8388608", "8MiB", "512KiB" or "1GiB".
func parseSize(name, v string) (int64, error) {
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > maxBlockSize/mult {
		return 0, invalid(fmt.Sprintf("URL parameter %s=%q is not a size from 1 byte to 4000MiB; write bytes or use a KiB, MiB or GiB suffix", name, v))
	}
	return n * mult, nil
}
