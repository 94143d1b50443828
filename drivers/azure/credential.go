package azure

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/objstore-go/objstore"
)

// How a store authenticates.
type credKind int

const (
	credToken     credKind = iota // azidentity.DefaultAzureCredential
	credSharedKey                 // account key, shared-key signing
	credSAS                       // a SAS query appended to every request
)

// clientConfig is a resolved endpoint and credential. It holds secrets,
// so it has a String method that prints none of them, and no error ever
// includes its fields' values.
type clientConfig struct {
	serviceURL string // ends in "/"
	account    string // may be empty for SAS and token credentials
	kind       credKind
	key        *azblob.SharedKeyCredential // credSharedKey
	sas        string                      // credSAS: the query, without "?"
	source     string                      // where the credential came from: a variable name or "DefaultAzureCredential"
}

func (c *clientConfig) String() string {
	return fmt.Sprintf("azure.clientConfig{serviceURL: %q, account: %q, credential: %s}", c.serviceURL, c.account, c.source)
}

// GoString keeps %#v from printing the key.
func (c *clientConfig) GoString() string { return c.String() }

// lookupEnv is os.LookupEnv; tests replace the environment through
// t.Setenv.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// Azurite's well-known development account, as UseDevelopmentStorage=true
// in a connection string means it. It is public and not a secret.
const (
	devAccount  = "devstoreaccount1"
	devKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devEndpoint = "http://127.0.0.1:10000/devstoreaccount1"
)

// credentialVars returns the variables credential=name reads, in the
// order they are tried.
func credentialVars(name string) (key, connStr, sas string) {
	p := "AZSTORE_" + strings.ToUpper(name) + "_"
	return p + "KEY", p + "CONNECTION_STRING", p + "SAS"
}

// resolveCredential finds the endpoint and the credential for the URL's
// credential, account and endpoint parameters (each may be empty).
//
// With credential=NAME the first of AZSTORE_<NAME>_KEY,
// AZSTORE_<NAME>_CONNECTION_STRING and AZSTORE_<NAME>_SAS that is set and
// not empty is used. Errors name the variable, never its value.
func resolveCredential(name, account, endpoint string, getenv func(string) (string, bool)) (*clientConfig, error) {
	if name == "" {
		return tokenConfig(account, endpoint)
	}
	if len(name) > 64 {
		return nil, invalid("credential= is longer than 64 characters; it names environment variables, AZSTORE_<NAME>_KEY and the like")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return nil, invalid(fmt.Sprintf("credential=%q may contain only letters, digits and \"_\": it names the environment variables AZSTORE_<NAME>_KEY, _CONNECTION_STRING and _SAS", name))
		}
	}
	keyVar, csVar, sasVar := credentialVars(name)
	get := func(v string) (string, bool) {
		s, ok := getenv(v)
		s = strings.TrimSpace(s)
		return s, ok && s != ""
	}
	if v, ok := get(keyVar); ok {
		return keyConfig(keyVar, v, account, endpoint)
	}
	if v, ok := get(csVar); ok {
		return connStringConfig(csVar, v, account, endpoint)
	}
	if v, ok := get(sasVar); ok {
		return sasConfig(sasVar, v, account, endpoint)
	}
	return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument,
		Err:  fmt.Errorf("credential=%s, but none of %s, %s and %s is set", name, keyVar, csVar, sasVar),
		Hint: "set one of them, or drop credential= to use DefaultAzureCredential"}
}

// serviceURL returns the endpoint, or the public cloud's endpoint for
// account, ending in "/".
func serviceURL(account, endpoint string) (string, error) {
	if endpoint == "" {
		if account == "" {
			return "", invalid("the URL has neither account= nor endpoint=; give the storage account, as in azblob://container?account=myaccount")
		}
		endpoint = "https://" + account + ".blob.core.windows.net"
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	return endpoint, nil
}

// accountFromEndpoint returns ACCOUNT for https://ACCOUNT.blob.<suffix>/,
// or "".
func accountFromEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if first, rest, ok := strings.Cut(u.Hostname(), "."); ok && strings.HasPrefix(rest, "blob.") {
		return first
	}
	return ""
}

func tokenConfig(account, endpoint string) (*clientConfig, error) {
	svc, err := serviceURL(account, endpoint)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(svc, "http://") {
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument,
			Err:  errors.New("without credential=, the driver authenticates with Entra ID tokens, which are never sent to a plain http:// endpoint"),
			Hint: "use an https endpoint, or set credential=NAME with AZSTORE_<NAME>_KEY (Azurite's well-known key, for instance)"}
	}
	return &clientConfig{serviceURL: svc, account: account, kind: credToken, source: "DefaultAzureCredential"}, nil
}

func keyConfig(variable, key, account, endpoint string) (*clientConfig, error) {
	if account == "" {
		account = accountFromEndpoint(endpoint)
	}
	if account == "" {
		return nil, invalid(fmt.Sprintf("%s holds an account key, which signs requests together with the account name; add account=NAME to the URL", variable))
	}
	cred, err := sharedKey(variable, account, key)
	if err != nil {
		return nil, err
	}
	svc, err := serviceURL(account, endpoint)
	if err != nil {
		return nil, err
	}
	return &clientConfig{serviceURL: svc, account: account, kind: credSharedKey, key: cred, source: variable}, nil
}

// sharedKey checks that key is base64 before the SDK sees it, so that the
// error names the variable and says what is wrong without repeating it.
func sharedKey(variable, account, key string) (*azblob.SharedKeyCredential, error) {
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		return nil, invalid(fmt.Sprintf("the account key in %s is not base64; copy key1 or key2 from the storage account's Access keys", variable))
	}
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		return nil, invalid(fmt.Sprintf("the account key in %s is not usable", variable))
	}
	return cred, nil
}

func sasConfig(variable, sas, account, endpoint string) (*clientConfig, error) {
	sas = strings.TrimPrefix(sas, "?")
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("sig") == "" {
		return nil, invalid(fmt.Sprintf("%s is not a SAS query string: it must look like sv=...&sp=...&sig=... (the part of a SAS URL after \"?\")", variable))
	}
	if account == "" {
		account = accountFromEndpoint(endpoint)
	}
	svc, err := serviceURL(account, endpoint)
	if err != nil {
		return nil, err
	}
	return &clientConfig{serviceURL: svc, account: account, kind: credSAS, sas: sas, source: variable}, nil
}

// connStringConfig reads an Azure Storage connection string: AccountName
// with AccountKey, or SharedAccessSignature; BlobEndpoint or
// DefaultEndpointsProtocol and EndpointSuffix; or
// UseDevelopmentStorage=true for Azurite's defaults.
func connStringConfig(variable, cs, account, endpoint string) (*clientConfig, error) {
	fields := map[string]string{}
	for i, part := range strings.Split(strings.TrimRight(cs, ";"), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, invalid(fmt.Sprintf("%s is not a connection string: part %d is not Name=value", variable, i+1))
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(fields["usedevelopmentstorage"], "true") {
		fields["accountname"], fields["accountkey"] = devAccount, devKey
		if _, ok := fields["blobendpoint"]; !ok {
			fields["blobendpoint"] = devEndpoint
		}
	}
	name, key, sas, blobEndpoint := fields["accountname"], fields["accountkey"], fields["sharedaccesssignature"], fields["blobendpoint"]
	if name != "" {
		if account != "" && account != name {
			return nil, invalid(fmt.Sprintf("account=%s in the URL and AccountName=%s in %s differ; give one, or make them agree", account, name, variable))
		}
		account = name
	}
	if blobEndpoint != "" {
		if err := checkEndpoint(blobEndpoint); err != nil {
			return nil, invalid(fmt.Sprintf("the BlobEndpoint in %s is not an http or https URL without a query", variable))
		}
		if endpoint != "" && strings.TrimSuffix(endpoint, "/") != strings.TrimSuffix(blobEndpoint, "/") {
			return nil, invalid(fmt.Sprintf("endpoint= in the URL and the BlobEndpoint in %s differ; give one, or make them agree", variable))
		}
		endpoint = blobEndpoint
	}
	if endpoint == "" && account != "" {
		proto, suffix := fields["defaultendpointsprotocol"], fields["endpointsuffix"]
		if proto == "" {
			proto = "https"
		}
		if suffix == "" {
			suffix = "core.windows.net"
		}
		if proto != "http" && proto != "https" {
			return nil, invalid(fmt.Sprintf("the DefaultEndpointsProtocol in %s is neither http nor https", variable))
		}
		endpoint = proto + "://" + account + ".blob." + suffix
		if err := checkEndpoint(endpoint); err != nil {
			return nil, invalid(fmt.Sprintf("the AccountName and EndpointSuffix in %s do not make a valid endpoint URL", variable))
		}
	}
	switch {
	case key != "":
		if account == "" {
			return nil, invalid(fmt.Sprintf("%s has an AccountKey but no AccountName; add AccountName=... to it or account=... to the URL", variable))
		}
		cred, err := sharedKey(variable, account, key)
		if err != nil {
			return nil, err
		}
		svc, err := serviceURL(account, endpoint)
		if err != nil {
			return nil, err
		}
		return &clientConfig{serviceURL: svc, account: account, kind: credSharedKey, key: cred, source: variable}, nil
	case sas != "":
		q, err := url.ParseQuery(strings.TrimPrefix(sas, "?"))
		if err != nil || q.Get("sig") == "" {
			return nil, invalid(fmt.Sprintf("the SharedAccessSignature in %s is not a SAS query string (sv=...&sig=...)", variable))
		}
		if endpoint == "" {
			return nil, invalid(fmt.Sprintf("%s has a SharedAccessSignature but neither BlobEndpoint nor AccountName; add BlobEndpoint=https://ACCOUNT.blob.core.windows.net", variable))
		}
		svc, err := serviceURL(account, endpoint)
		if err != nil {
			return nil, err
		}
		return &clientConfig{serviceURL: svc, account: account, kind: credSAS, sas: strings.TrimPrefix(sas, "?"), source: variable}, nil
	}
	return nil, invalid(fmt.Sprintf("%s has neither AccountName with AccountKey nor SharedAccessSignature", variable))
}

// sasPolicy appends a SAS query to every request the pipeline sends.
type sasPolicy struct{ query string }

func (p *sasPolicy) Do(req *policy.Request) (*http.Response, error) {
	u := req.Raw().URL
	if u.RawQuery == "" {
		u.RawQuery = p.query
	} else {
		u.RawQuery += "&" + p.query
	}
	return req.Next()
}

// String keeps the SAS out of anything that prints the policy.
func (p *sasPolicy) String() string   { return "azure.sasPolicy{REDACTED}" }
func (p *sasPolicy) GoString() string { return p.String() }
