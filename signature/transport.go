package signature

import (
	"net/http"
	"time"
)

// Transport is an http.RoundTripper that signs each request with an access
// key before sending it: dbplane's clients and CLI wrap their transport in
// one.
type Transport struct {
	// Base sends the signed requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Scheme signs the requests.
	Scheme Scheme
	// AccessKeyID and Secret are the key pair to sign with.
	AccessKeyID, Secret string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RoundTrip signs a copy of req and sends it. req itself is left as it
// was, but for its body, which is read.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	signed := req.Clone(req.Context())
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if err := t.Scheme.Sign(signed, t.AccessKeyID, t.Secret, now()); err != nil {
		if signed.Body != nil {
			signed.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(signed)
}

// String names the transport's scheme and key, never its secret, should a
// Transport end up in a log line.
func (t *Transport) String() string {
	name := "<nil>"
	if t.Scheme != nil {
		name = t.Scheme.Name()
	}
	return "signature.Transport(" + name + ", " + t.AccessKeyID + ")"
}
