// Command setup prepares the local test servers started by scripts/test.sh:
// it creates the S3 bucket on each S3 server (MinIO, versitygw) and the blob
// container on Azurite.
//
// It is idempotent (an existing bucket or container is fine) and retries
// briefly while a server is not answering yet.
//
// It also has two small helper modes so the script needs neither python nor
// curl: -free-ports N prints N distinct free loopback TCP ports (one per
// line), and -probe URL does one GET and prints the HTTP status code
// (exit status 0 if the server answered at all, 1 if not).
//
// Usage:
//
//	setup -s3-endpoint http://127.0.0.1:9000 -s3-endpoint http://127.0.0.1:7070 -azure-endpoint http://127.0.0.1:10000/devstoreaccount1
//	setup -free-ports 3
//	setup -probe http://127.0.0.1:9000/minio/health/live
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// azuriteKey is the well-known, public Azurite/Storage Emulator account key
// for devstoreaccount1 (as in Azurite's own source). It is not a secret.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var s3Endpoints stringList
	flag.Var(&s3Endpoints, "s3-endpoint", "S3 endpoint (MinIO, versitygw), e.g. http://127.0.0.1:9000; repeat it for several servers (none: skip S3)")
	var (
		freePorts     = flag.Int("free-ports", 0, "print this many distinct free loopback TCP ports, one per line, and exit")
		probe         = flag.String("probe", "", "GET this URL once, print the HTTP status code and exit (exit status 1 if no answer)")
		bucket        = flag.String("bucket", "objstore-test", "S3 bucket to create")
		region        = flag.String("region", "us-east-1", "S3 region")
		accessKey     = flag.String("access-key", os.Getenv("AWS_ACCESS_KEY_ID"), "S3 access key (default $AWS_ACCESS_KEY_ID)")
		secretKey     = flag.String("secret-key", os.Getenv("AWS_SECRET_ACCESS_KEY"), "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
		azureEndpoint = flag.String("azure-endpoint", "", "Azurite blob service URL including the account, e.g. http://127.0.0.1:10000/devstoreaccount1 (empty: skip Azure)")
		container     = flag.String("container", "objstore-test", "Azure blob container to create")
		azureAccount  = flag.String("azure-account", "devstoreaccount1", "Azure storage account name")
		azureKey      = flag.String("azure-key", envOr("AZSTORE_AZURITE_KEY", azuriteKey), "Azure shared key (default $AZSTORE_AZURITE_KEY or the well-known Azurite key)")
		timeout       = flag.Duration("timeout", 30*time.Second, "give up after this long")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected arguments: %q", flag.Args())
	}

	if *freePorts > 0 {
		ports, err := pickFreePorts(*freePorts)
		if err != nil {
			fatalf("picking free ports: %v", err)
		}
		for _, p := range ports {
			fmt.Println(p)
		}
		return
	}

	if *probe != "" {
		code, err := probeURL(*probe)
		if err != nil {
			fmt.Fprintf(os.Stderr, "setup: probe %s: %v\n", *probe, err)
			os.Exit(1)
		}
		fmt.Println(code)
		return
	}

	if len(s3Endpoints) == 0 && *azureEndpoint == "" {
		fatalf("nothing to do: pass -s3-endpoint and/or -azure-endpoint")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if len(s3Endpoints) > 0 && (*accessKey == "" || *secretKey == "") {
		fatalf("s3: -access-key and -secret-key (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) are required")
	}
	for _, endpoint := range s3Endpoints {
		if err := retry(ctx, func() (string, error) {
			return setupS3(ctx, endpoint, *region, *accessKey, *secretKey, *bucket)
		}, "s3 "+endpoint+": bucket "+*bucket); err != nil {
			fatalf("s3 (%s): %v", endpoint, err)
		}
	}
	if *azureEndpoint != "" {
		if err := retry(ctx, func() (string, error) {
			return setupAzure(ctx, *azureEndpoint, *azureAccount, *azureKey, *container)
		}, "azure: container "+*container); err != nil {
			fatalf("azure (%s): %v", *azureEndpoint, err)
		}
	}
}

// retry calls f until it succeeds, fails with a non-retryable error, or ctx
// expires. On success it prints what + ": " + the status f returned.
func retry(ctx context.Context, f func() (string, error), what string) error {
	delay := 100 * time.Millisecond
	for {
		status, err := f()
		if err == nil {
			fmt.Printf("%s: %s\n", what, status)
			return nil
		}
		if !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready in time: %w", err)
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// retryable reports whether err looks transient: no HTTP answer at all
// (connection refused, reset, ...) or a 5xx answer (e.g. MinIO still
// initialising). A 4xx answer (bad credentials, bad name) is final.
func retryable(err error) bool {
	var perm permanentError
	if errors.As(err, &perm) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var smithyStatus interface{ HTTPStatusCode() int }
	if errors.As(err, &smithyStatus) {
		return smithyStatus.HTTPStatusCode() >= 500
	}
	var azErr *azcore.ResponseError
	if errors.As(err, &azErr) {
		return azErr.StatusCode >= 500
	}
	return true
}

// permanentError marks an error that retrying cannot fix (bad flags, ...).
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func setupS3(ctx context.Context, endpoint, region, accessKey, secretKey, bucket string) (string, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")),
		// Ignore the developer's ~/.aws files: this only talks to local servers.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithRetryMaxAttempts(1), // retry() does the retrying
	)
	if err != nil {
		return "", permanentError{fmt.Errorf("loading AWS config: %w", err)}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})

	status := "created"
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) ||
			(apiErr.ErrorCode() != "BucketAlreadyOwnedByYou" && apiErr.ErrorCode() != "BucketAlreadyExists") {
			return "", fmt.Errorf("creating bucket %q: %w", bucket, err)
		}
		status = "exists"
	}
	// Make sure it is really there and usable with these credentials.
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return "", fmt.Errorf("checking bucket %q: %w", bucket, err)
	}
	return status, nil
}

func setupAzure(ctx context.Context, endpoint, account, key, container string) (string, error) {
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		return "", permanentError{fmt.Errorf("azure shared key: %w", err)}
	}
	client, err := azblob.NewClientWithSharedKeyCredential(endpoint, cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Retry: policy.RetryOptions{MaxRetries: -1}, // retry() does the retrying
		},
	})
	if err != nil {
		return "", permanentError{fmt.Errorf("azure client: %w", err)}
	}

	status := "created"
	if _, err := client.CreateContainer(ctx, container, nil); err != nil {
		if !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return "", fmt.Errorf("creating container %q: %w", container, err)
		}
		status = "exists"
	}
	// Make sure it is really there and usable with these credentials.
	if _, err := client.ServiceClient().NewContainerClient(container).GetProperties(ctx, nil); err != nil {
		return "", fmt.Errorf("checking container %q: %w", container, err)
	}
	return status, nil
}

// pickFreePorts asks the kernel for n distinct free ports on 127.0.0.1. All
// listeners are held open until every port is chosen so they are distinct.
// Another process could still take a port before the caller binds it; the
// script copes by retrying server start-up with new ports.
func pickFreePorts(n int) ([]int, error) {
	var (
		ports     []int
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// probeURL does a single GET of url and returns the HTTP status code.
func probeURL(url string) (int, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "setup: "+format+"\n", args...)
	os.Exit(1)
}
