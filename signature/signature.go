// Package signature verifies and makes the HMAC request signatures that
// dbplane's front doors accept: AWS Signature Version 4 (the native API and
// CloudBasic), Huawei Cloud's SDK-HMAC-SHA256 (the Huawei front door) and
// OCP's OCP-ACCESS-KEY-HMACSHA1 (the OCP front door).
//
// A Verifier holds the schemes a front door accepts, picks one by the first
// token of the Authorization header, checks the request's date against the
// server's clock, looks the access key's secret up and compares signatures
// in constant time. Each scheme also signs requests, for dbplane's own CLI
// and clients and for tests.
//
// Every verification failure is a *dbplane.Error of kind
// dbplane.KindUnauthorized whose message tells the client what is wrong,
// never what the right signature would have been.
package signature

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// DefaultMaxSkew is how far a request's date may be from the server's clock,
// either way, when a Verifier sets no MaxSkew. Fifteen minutes is what AWS,
// Huawei Cloud and OCP all allow.
const DefaultMaxSkew = 15 * time.Minute

// SecretFunc returns the secret of an access key. An unknown key answers an
// error of kind dbplane.KindNotFound (or an empty secret): the Verifier then
// refuses the request exactly as it refuses a bad signature, so that nobody
// can probe which keys exist. Any other error is passed on, so that a store
// outage is not mistaken for bad credentials.
type SecretFunc func(ctx context.Context, accessKeyID string) (secret string, err error)

// Scheme is one signing scheme: how a request carries its signature, and how
// that signature is computed.
type Scheme interface {
	// Name names the scheme in an Identity and in logs.
	Name() string
	// Algorithm is the first token of the Authorization header that
	// selects this scheme, e.g. "AWS4-HMAC-SHA256".
	Algorithm() string
	// Parse reads what r claims, without the secret: the access key, the
	// date, the signature, and how to compute the signature it should
	// have. body is r's whole body. Parse must not panic on any input and
	// fails with KindUnauthorized errors.
	Parse(r *http.Request, body []byte) (*Claim, error)
	// Sign signs r with an access key and its secret as of now: it sets
	// the date and Authorization headers. It reads r's body and puts it
	// back so that r can still be sent.
	Sign(r *http.Request, accessKeyID, secret string, now time.Time) error
}

// Claim is what a signed request claims: who signed it, when, and the
// signature. Expected computes the signature the request should carry if
// it was signed with secret.
type Claim struct {
	AccessKeyID string
	Date        time.Time
	Signature   []byte
	Expected    func(secret string) []byte
}

// Identity is who signed a request that verified.
type Identity struct {
	AccessKeyID string // the access key that signed the request
	Scheme      string // the Name of the scheme it was signed with
}

// Verifier checks request signatures for one front door. Its zero value
// accepts nothing: set Schemes and Secrets.
type Verifier struct {
	// Schemes are the schemes accepted, selected by Algorithm.
	Schemes []Scheme
	// Secrets looks up access keys' secrets.
	Secrets SecretFunc
	// MaxSkew bounds how far a request's date may be from Now, either
	// way; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the server's clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

const opVerify = "signature.Verify"

// Verify checks r's signature and returns who signed it. It reads r's body
// (the caller bounds its size, with http.MaxBytesReader) and puts it back,
// so handlers can read it again. Failures are KindUnauthorized errors, but
// for a body over the limit (KindTooLarge) and errors of Secrets other than
// an unknown key (passed on with their kind).
func (v *Verifier) Verify(r *http.Request) (Identity, error) {
	if v.Secrets == nil {
		return Identity{}, &dbplane.Error{Op: opVerify, Kind: dbplane.KindInternal, Err: errors.New("no secret lookup configured")}
	}
	scheme, err := v.scheme(r)
	if err != nil {
		return Identity{}, err
	}
	body, err := ReadBody(r)
	if err != nil {
		return Identity{}, err
	}
	claim, err := scheme.Parse(r, body)
	if err != nil {
		return Identity{}, err
	}
	if err := checkSkew(claim.Date, v.now(), v.maxSkew()); err != nil {
		return Identity{}, err
	}
	secret, err := v.secret(r.Context(), claim.AccessKeyID)
	if err != nil {
		return Identity{}, err
	}
	known := secret != ""
	if !known {
		// Compute a signature anyway, so that an unknown key takes as
		// long to refuse as a wrong signature.
		secret = "unknown access key"
	}
	if !hmac.Equal(claim.Expected(secret), claim.Signature) || !known {
		return Identity{}, unauthorized("signature does not match: check the secret key and that the request is signed as it is sent (method, path, query, signed headers, body)")
	}
	return Identity{AccessKeyID: claim.AccessKeyID, Scheme: scheme.Name()}, nil
}

// scheme picks the scheme named by r's Authorization header.
func (v *Verifier) scheme(r *http.Request) (Scheme, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return nil, unauthorized("missing Authorization header")
	}
	if len(vals) > 1 {
		return nil, unauthorized("malformed Authorization header: sent more than once")
	}
	alg, _, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	for _, s := range v.Schemes {
		if s.Algorithm() == alg {
			return s, nil
		}
	}
	want := make([]string, len(v.Schemes))
	for i, s := range v.Schemes {
		want[i] = s.Algorithm()
	}
	return nil, unauthorized("unsupported signature algorithm %q (accepted: %s)", clip(alg), strings.Join(want, ", "))
}

// secret looks up an access key's secret; "" for an unknown key.
func (v *Verifier) secret(ctx context.Context, ak string) (string, error) {
	secret, err := v.Secrets(ctx, ak)
	switch dbplane.ErrorKind(err) {
	case dbplane.KindOther: // nil
		return secret, nil
	case dbplane.KindNotFound, dbplane.KindUnauthorized:
		return "", nil
	}
	return "", dbplane.E(opVerify, err)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// ReadBody reads r's whole body and puts an equal one back, so that a
// handler after the verification reads it too. The caller bounds the body
// (http.MaxBytesReader); a body over the bound is KindTooLarge.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &dbplane.Error{Op: opVerify, Kind: dbplane.KindTooLarge,
				Message: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit), Err: err}
		}
		return nil, &dbplane.Error{Op: opVerify, Kind: dbplane.KindInvalid, Message: "cannot read the request body", Err: err}
	}
	return body, nil
}

// bufferBody reads a client request's body and puts it back so that it can
// still be sent, and resent on redirects.
func bufferBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return body, nil
}

// unauthorized returns the error every verification failure is.
func unauthorized(format string, args ...any) *dbplane.Error {
	e := dbplane.Errorf(dbplane.KindUnauthorized, format, args...)
	e.Op = opVerify
	return e
}

// malformed reports a bad part of the Authorization header.
func malformed(format string, args ...any) *dbplane.Error {
	e := unauthorized(format, args...)
	e.Message = "malformed Authorization header: " + e.Message
	return e
}

// clip shortens client input quoted back in messages.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
