package pipeline

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/objstore-go/objstore"
)

// InsecureEndpointHint is what a refused endpoint points to.
const InsecureEndpointHint = "use an https:// endpoint; plain http is allowed only for a loopback host " +
	"(127.0.0.0/8, ::1, localhost), for requests without credentials, or when the application sets " +
	"ClientOptions.AllowInsecureEndpoint in code (a URL cannot opt in)"

// IsLoopback reports whether host (a URL's Hostname, without port or
// brackets) is a loopback address: 127.0.0.0/8, ::1 (and IPv4-mapped
// loopback), or the name localhost or a name under .localhost (RFC 6761),
// which resolvers must answer with loopback addresses. Any other name is
// not loopback, whatever it resolves to: the check never does a lookup.
func IsLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 { // a zone: fe80::1%eth0
		h = h[:i]
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// CheckEndpoint applies the endpoint policy to endpoint, the base URL a
// store sends its requests to: when credentials (what the requests carry,
// such as "AWS signatures", for the message; "" means none) are attached,
// the endpoint must be https unless its host is loopback or the
// application set AllowInsecureEndpoint in code. It gives
// ErrInvalidArgument with a hint, naming the endpoint's scheme and host
// but never its path or query.
func (c Config) CheckEndpoint(endpoint, credentials string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return invalidArgument(c.Driver, "the endpoint is not a URL")
	}
	if credentials == "" || c.AllowInsecureEndpoint || strings.EqualFold(u.Scheme, "https") || IsLoopback(u.Hostname()) {
		return nil
	}
	host := u.Host
	if h, _, err := net.SplitHostPort(host); err == nil && h == "" {
		host = "(no host)"
	}
	return &objstore.Error{Driver: c.Driver, Op: "open", Kind: objstore.ErrInvalidArgument,
		Err:  fmt.Errorf("refusing to send %s in clear text to %s://%s, which is not a loopback host", credentials, u.Scheme, host),
		Hint: InsecureEndpointHint}
}
