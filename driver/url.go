package driver

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// secretParams are query parameter names that look like secrets. Drivers
// never accept them (rule U4).
var secretParams = []string{
	"secret", "secret_key", "secret_access_key", "access_key", "access_key_id", "accesskey", "aws_secret_access_key",
	"session_token", "token", "password", "key", "account_key", "accountkey", "sas", "sig", "signature",
	"connection_string", "connectionstring", "sv", "se", "sp", "credentials",
}

// Query checks u's query parameters for a driver. Each parameter may appear
// once, and only the names in allowed are accepted. A parameter that looks
// like a secret gets an error that points to credentialHint (rule U4); an
// unknown one gets an error naming it and the accepted ones (rule U1). The
// values are returned by name.
func Query(u *url.URL, allowed []string, credentialHint string) (map[string]string, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, Errorf(ErrInvalidArgument, "the URL's query is malformed; write name=value pairs joined by &")
	}
	out := make(map[string]string, len(q))
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vals := q[name]
		lower := strings.ToLower(name)
		if slices.Contains(secretParams, lower) || strings.Contains(lower, "secret") || strings.Contains(lower, "password") {
			return nil, &Error{Kind: ErrInvalidArgument,
				Err:  fmt.Errorf("the URL parameter %q looks like a secret; secrets never go in a store URL", name),
				Hint: credentialHint}
		}
		if !slices.Contains(allowed, name) {
			accepted := "none"
			if len(allowed) > 0 {
				accepted = strings.Join(allowed, ", ")
			}
			return nil, Errorf(ErrInvalidArgument, fmt.Sprintf("unknown URL parameter %q; %s accepts: %s", name, u.Scheme, accepted))
		}
		if len(vals) != 1 {
			return nil, Errorf(ErrInvalidArgument, fmt.Sprintf("URL parameter %q is given %d times; give it once", name, len(vals)))
		}
		out[name] = vals[0]
	}
	return out, nil
}

// ParseBool reads a boolean URL parameter: "true", "false", "1" or "0".
func ParseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, Errorf(ErrInvalidArgument, fmt.Sprintf("URL parameter %s=%q is not a boolean; use true or false", name, v))
}

// CheckURL refuses a store URL of a shape no driver opens: one with user
// information (rule U4: no credentials in a URL), an opaque one, or one
// with a fragment. objstore.Open checks it before any driver sees the
// URL; a driver's own OpenURL for callers that skip Open checks it too.
func CheckURL(u *url.URL) *Error {
	switch {
	case u.User != nil:
		return &Error{Kind: ErrInvalidArgument, Err: fmt.Errorf("the URL carries user information"),
			Hint: "never put credentials in a store URL; see the driver's documentation for how it finds credentials"}
	case u.Opaque != "":
		return Errorf(ErrInvalidArgument, fmt.Sprintf("the URL is opaque; write %s://name/prefix", u.Scheme))
	case u.Fragment != "":
		return Errorf(ErrInvalidArgument, "the URL has a fragment (#...); a store URL has none")
	}
	return nil
}
