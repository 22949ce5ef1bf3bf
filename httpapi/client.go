package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// Client calls the native API. It implements the domain service interfaces,
// so the CLI and other programs use the same types as the server, and an
// error's kind survives the round trip.
type Client struct {
	// Token is the bearer token sent with every request; empty sends none.
	Token string
	// AccessKeyID and SecretKey, when set, sign every request with AWS
	// SigV4 instead of sending Token: for automation that holds an access
	// key rather than a password.
	AccessKeyID, SecretKey string
	// HTTPClient performs requests. It should have no overall timeout,
	// which would cut event streams: bound calls with their context.
	HTTPClient *http.Client
	// WatchIdleTimeout is how long WatchTask waits without receiving a byte
	// (events or the server's heartbeats) before it reconnects; 0 means
	// DefaultWatchIdleTimeout.
	WatchIdleTimeout time.Duration

	baseURL string
}

// DefaultWatchIdleTimeout spans several server heartbeats, so that only a
// dead connection, not a slow one, trips it.
const DefaultWatchIdleTimeout = 4 * DefaultHeartbeat

// Interface guards: the client is a drop-in for the services. It is no
// dbplane.AuthService: authenticating other callers is the server's job.
var (
	_ dbplane.ClusterService  = (*Client)(nil)
	_ dbplane.TaskService     = (*Client)(nil)
	_ dbplane.HostService     = (*Client)(nil)
	_ dbplane.IdentityService = (*Client)(nil)
	_ dbplane.AuditService    = (*Client)(nil)
)

// NewClient returns a client of the API at baseURL, e.g.
// "http://127.0.0.1:8080".
func NewClient(baseURL string) *Client {
	return &Client{
		HTTPClient: http.DefaultClient,
		baseURL:    strings.TrimRight(baseURL, "/"),
	}
}

// maxErrorBody bounds how much of an error answer the client reads.
const maxErrorBody = 1 << 20

// do sends a request with the client's credentials and decodes a 2xx JSON
// answer into out (if not nil). in, if not nil, is sent as the JSON body.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, q, in, true, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}

// decodeAnswer decodes a successful answer into out, or drains it when out
// is nil so the connection can be reused.
func decodeAnswer(resp *http.Response, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &dbplane.Error{Op: "httpapi.Client", Kind: dbplane.KindInternal,
			Message: fmt.Sprintf("cannot decode the answer of %s %s", resp.Request.Method, resp.Request.URL.Path), Err: err}
	}
	return nil
}

// send performs a request, with the client's credentials if auth is set,
// and returns the response if its status is 2xx; otherwise it decodes the
// error answer into a *dbplane.Error.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in any, auth bool, hdr http.Header) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, dbplane.E("httpapi.Client: while encoding the request", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, &dbplane.Error{Op: "httpapi.Client", Kind: dbplane.KindInvalid,
			Message: fmt.Sprintf("invalid API URL %q", c.baseURL), Err: err}
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.authorize(req, auth); err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &dbplane.Error{Op: "httpapi.Client", Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("cannot reach the dbplane API at %s", c.baseURL), Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, responseError(resp)
}

// sigv4 signs the requests of clients that hold an access key.
var sigv4 = &signature.SigV4{Services: []string{SignatureService}}

// authorize adds the client's credential to req: a SigV4 signature when it
// has an access key, else its bearer token, if any.
func (c *Client) authorize(req *http.Request, auth bool) error {
	switch {
	case !auth:
	case c.AccessKeyID != "":
		if err := sigv4.Sign(req, c.AccessKeyID, c.SecretKey, time.Now()); err != nil {
			return &dbplane.Error{Op: "httpapi.Client", Kind: dbplane.KindInvalid, Message: "cannot sign the request", Err: err}
		}
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return nil
}

// responseError turns an error answer back into the server's *dbplane.Error.
// Answers without the API's error body (a proxy's error page) get the kind
// their status maps to.
func responseError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
		return &dbplane.Error{
			Kind:    dbplane.KindFromCode(eb.Error.Code),
			Message: eb.Error.Message,
			Fields:  eb.Error.Details,
			Err:     requestError{status: resp.StatusCode, code: eb.Error.Code, requestID: eb.Error.RequestID},
		}
	}
	return &dbplane.Error{
		Kind:    dbplane.KindFromHTTPStatus(resp.StatusCode),
		Message: fmt.Sprintf("unexpected answer %s", resp.Status),
		Err:     requestError{status: resp.StatusCode, requestID: resp.Header.Get(RequestIDHeader)},
	}
}

// requestError is the HTTP-level cause of a client error: it keeps the
// status, code and request id for logs and for RequestID.
type requestError struct {
	status    int
	code      string
	requestID string
}

func (e requestError) Error() string {
	s := "HTTP " + strconv.Itoa(e.status)
	if e.code != "" {
		s += " " + e.code
	}
	if e.requestID != "" {
		s += " (request " + e.requestID + ")"
	}
	return s
}

// RequestID returns the server's request id of an error returned by a
// Client, or "" — the key to the server's log lines about it.
func RequestID(err error) string {
	var re requestError
	if errors.As(err, &re) {
		return re.requestID
	}
	return ""
}

func idPath(prefix string, id int64, rest ...string) string {
	p := prefix + "/" + strconv.FormatInt(id, 10)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// pageQuery adds offset and limit when set.
func pageQuery(q url.Values, offset, limit int) {
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

func setOpt(q url.Values, name string, v *string) {
	if v != nil && *v != "" {
		q.Set(name, *v)
	}
}
