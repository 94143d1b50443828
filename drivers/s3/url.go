package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Scheme is the URL scheme this package registers.
const Scheme = "s3"

func init() {
	objstore.Register(Scheme, func(ctx context.Context, u *url.URL) (objstore.Store, error) {
		return OpenURL(ctx, u, nil)
	})
}

// urlParams are the query parameters OpenURL accepts.
var urlParams = []string{"region", "endpoint", "use_path_style", "profile", "anonymous", driver.KeysParam}

// credentialHint is where errors about credentials point.
const credentialHint = "the s3 driver takes credentials from the default AWS chain, never from the URL: " +
	"the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables, a shared config profile (AWS_PROFILE, or profile= in the URL), " +
	"SSO, web identity, and the EC2/ECS instance role; anonymous=true sends unsigned requests to public buckets"

// chainHint says where the default AWS credential chain looks, for an
// error that got no credentials from it: the environment as the chain read
// it, with profile (profile=, or "" for AWS_PROFILE or "default").
func chainHint(profile string) string {
	if profile == "" {
		profile = cmp.Or(os.Getenv("AWS_PROFILE"), os.Getenv("AWS_DEFAULT_PROFILE"), "default")
	}
	configFile := cmp.Or(os.Getenv("AWS_CONFIG_FILE"), config.DefaultSharedConfigFilename())
	credsFile := cmp.Or(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), config.DefaultSharedCredentialsFilename())
	imds := "the EC2 instance metadata service (IMDS), which AWS_EC2_METADATA_DISABLED=true switches off"
	if !strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		endpoint := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
		if endpoint == "" {
			endpoint = "http://169.254.169.254"
			if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"), "IPv6") {
				endpoint = "http://[fd00:ec2::254]"
			}
		}
		imds = "the EC2 instance metadata service (IMDS) at " + endpoint
	}
	return fmt.Sprintf("the default AWS credential chain gave no credentials; it looks, in order, at "+
		"the variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
		"profile %q in the shared config file %s and credentials file %s (keys, SSO, credential_process, role), "+
		"web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), "+
		"ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), and %s; "+
		"set the variables, name a profile with AWS_PROFILE or profile=, or use anonymous=true for a public bucket",
		profile, configFile, credsFile, imds)
}

// OpenURL opens the store that u names, as objstore.Open does for s3://
// URLs; opts tune it and may not set Prefix, which the URL's path sets.
//
//	s3://bucket[/prefix]?region=…&endpoint=…&use_path_style=…&profile=…&anonymous=…
//
// The parameters, all optional:
//   - region: the bucket's region. Without it the SDK's (AWS_REGION, or the
//     profile's region) is used, and with an endpoint us-east-1.
//   - endpoint: the base URL of an S3-compatible server, such as
//     http://127.0.0.1:9000. Request checksums and response checksum
//     validation are then "when required", which every server accepts.
//     Without it, the SDK's AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or
//     shared-config endpoint_url, if set, is used the same way. Unless
//     anonymous=true, a plain-http endpoint must be loopback, or the
//     code must set ClientOptions.AllowInsecureEndpoint; otherwise Open
//     gives ErrInvalidArgument.
//   - use_path_style: true addresses the bucket in the path rather than
//     the host name, as most S3-compatible servers need.
//   - profile: the shared config profile to use.
//   - anonymous: true sends unsigned requests, for public buckets.
//   - keys: portable (the default) or native; native lets Put and Copy
//     create any key S3 can hold (Options.Keys).
//
// Credentials come from the default AWS chain (environment, shared config
// and profile, SSO, web identity, IMDS); a parameter that looks like a
// secret is refused. An unknown parameter, a bad value or an unknown
// profile gives ErrInvalidArgument. OpenURL sends no request: a missing
// bucket or wrong credentials show on the first operation.
func OpenURL(ctx context.Context, u *url.URL, opts *Options) (*Store, error) {
	fail := func(msg string) (*Store, error) { return nil, invalid(msg) }
	if err := driver.CheckURL(u); err != nil {
		if u.User != nil {
			err.Hint = credentialHint
		}
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: err.Kind, Err: err.Err, Hint: err.Hint}
	}
	q, err := driver.Query(u, append(slices.Clip(urlParams), pipeline.Params...), credentialHint)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix != "" {
		return fail("Options.Prefix is set; with a URL the prefix is the URL's path")
	}
	if msg := checkBucket(u.Host); msg != "" {
		return fail(msg)
	}
	o.Prefix = strings.TrimPrefix(u.Path, "/") // New validates it
	o.profile = q["profile"]

	if v, ok := q[driver.KeysParam]; ok {
		if o.Keys, err = driver.ParseKeyMode(v); err != nil {
			return nil, err
		}
	}
	var pathStyle, anonymous bool
	if v, ok := q["use_path_style"]; ok {
		if pathStyle, err = driver.ParseBool("use_path_style", v); err != nil {
			return nil, err
		}
	}
	if v, ok := q["anonymous"]; ok {
		if anonymous, err = driver.ParseBool("anonymous", v); err != nil {
			return nil, err
		}
	}
	endpoint := q["endpoint"]
	if _, ok := q["endpoint"]; ok {
		if msg := checkEndpoint(endpoint); msg != "" {
			return fail(msg)
		}
	}
	if _, ok := q["region"]; ok && q["region"] == "" {
		return fail("region= is empty; give the bucket's region, such as region=us-east-1, or leave the parameter out")
	}
	if _, ok := q["profile"]; ok && q["profile"] == "" {
		return fail("profile= is empty; name a profile of the shared config, or leave the parameter out")
	}
	if anonymous && q["profile"] != "" {
		return fail("anonymous=true and profile= contradict each other; an anonymous store uses no credentials")
	}

	pcfg, err := resolve(q, o)
	if err != nil {
		return nil, err
	}
	var loadOpts []func(*config.LoadOptions) error
	if r := q["region"]; r != "" {
		loadOpts = append(loadOpts, config.WithRegion(r))
	}
	if p := q["profile"]; p != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(p))
	}
	if anonymous {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	}
	// The SDK's own warnings (the IMDS client's, say) go to the pipeline's
	// logger, never straight to stderr.
	loadOpts = append(loadOpts, config.WithLogger(sdkLogger{pcfg.Logger}))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, &driver.Error{Kind: objstore.ErrInvalidArgument,
			Err: fmt.Errorf("loading the AWS configuration: %w", err), Hint: credentialHint}
	}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		// The SDK's client trusts AWS_CA_BUNDLE; so must the pipeline's.
		pcfg.TLS = bc.GetTransport().TLSClientConfig
	}
	o.pipe = pipeline.New(pcfg)
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if endpoint != "" {
			so.BaseEndpoint = aws.String(endpoint)
		}
		so.UsePathStyle = pathStyle
		if so.BaseEndpoint != nil {
			// Not AWS (or AWS named explicitly): some S3-compatible
			// servers reject the checksums the SDK sends by default, or
			// store their aws-chunked framing as object bytes
			// (aws-sdk-go-v2 discussion 2960).
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			if so.Region == "" {
				so.Region = "us-east-1"
			}
		}
	})
	if err := checkEndpointPolicy(client.Options(), endpoint, anonymous, pcfg); err != nil {
		return nil, err
	}
	if client.Options().Region == "" {
		return fail("no region: add region= to the URL, such as region=us-east-1, or set AWS_REGION")
	}
	return New(client, u.Host, &o)
}

// sdkLogger passes the SDK's log lines to the pipeline's logger (nil: none),
// warnings at Warn and the rest at Debug.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if l.log == nil {
		return
	}
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "objstore: aws sdk: "+fmt.Sprintf(format, v...), "driver", Scheme)
}

// envEndpointSources names where the SDK finds an endpoint when the URL
// has no endpoint=.
const envEndpointSources = "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or endpoint_url in the shared config"

// checkEndpointPolicy applies the endpoint policy (see
// pipeline.Config.CheckEndpoint) to the endpoint the client will send to:
// urlEndpoint (endpoint=), or the one the SDK read from the environment or
// the shared config (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
// endpoint_url), which the SDK sets as BaseEndpoint. An anonymous store
// signs nothing, so any endpoint will do.
func checkEndpointPolicy(so awss3.Options, urlEndpoint string, anonymous bool, pcfg pipeline.Config) error {
	if so.BaseEndpoint == nil {
		return nil // AWS's own endpoints, which are https
	}
	ep := *so.BaseEndpoint
	if urlEndpoint == "" {
		if msg := checkEndpoint(ep); msg != "" {
			e, _ := url.Parse(ep)
			shown := "a value"
			if e != nil && e.Scheme != "" {
				shown = "a " + e.Scheme + ":// URL"
			}
			return invalid(fmt.Sprintf(
				"the endpoint from the environment (%s) is %s that the driver cannot use; set it to a URL such as https://s3.example.com or http://127.0.0.1:9000", envEndpointSources, shown))
		}
	}
	creds := "AWS request signatures"
	if anonymous {
		creds = ""
	}
	if err := pcfg.CheckEndpoint(ep, creds); err != nil {
		if urlEndpoint == "" {
			var oe *objstore.Error
			if errors.As(err, &oe) {
				oe.Err = fmt.Errorf("%w (the endpoint comes from %s)", oe.Err, envEndpointSources)
			}
		}
		return err
	}
	return nil
}

// checkEndpoint reports why v cannot be an endpoint= value, or "".
func checkEndpoint(v string) string {
	if strings.Contains(v, "@") {
		return "endpoint= carries user information; credentials never go in a store URL"
	}
	e, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("endpoint= is not a URL (%v); write it like endpoint=http://127.0.0.1:9000 or endpoint=https://s3.example.com", err)
	}
	switch {
	case e.Scheme != "http" && e.Scheme != "https":
		return fmt.Sprintf("endpoint=%q has no http:// or https:// scheme; write it like endpoint=http://127.0.0.1:9000", v)
	case e.Host == "":
		return fmt.Sprintf("endpoint=%q has no host; write it like endpoint=http://127.0.0.1:9000", v)
	case e.RawQuery != "" || e.Fragment != "" || strings.HasSuffix(v, "?"):
		return fmt.Sprintf("endpoint=%q has a query or fragment; give only scheme, host, port and path", v)
	}
	return ""
}

// invalid is the error of input refused when a store is opened.
func invalid(msg string) error {
	return &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: errors.New(msg)}
}
