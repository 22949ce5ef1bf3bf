package agentclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// Client calls one agent's API. It implements dbplane.HostAgent, and an
// error keeps its kind and permanence across the call, so the task engine
// retries exactly what the agent says may succeed later.
type Client struct {
	baseURL string
	hc      *http.Client
	// files resolves the uploaded package files EnsurePackages is given;
	// nil refuses them.
	files PackageResolver
}

// Interface guard: engine packages use a Client as a dbplane.HostAgent.
var _ dbplane.HostAgent = (*Client)(nil)

// NewClient returns a client of the agent at baseURL, e.g.
// "https://10.0.0.7:7443", authenticating with tlsCfg (see
// ClientTLSConfig). Calls have no overall timeout (installing packages or
// running a base backup takes minutes): bound them with their context.
func NewClient(baseURL string, tlsCfg *tls.Config) *Client {
	return newClient(baseURL, newHTTPClient(tlsCfg))
}

func newClient(baseURL string, hc *http.Client) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), hc: hc}
}

// newHTTPClient returns an HTTP client for agents: quick to notice an
// agent that is down, patient with one that works.
func newHTTPClient(tlsCfg *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     tlsCfg.Clone(),
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// Health checks that the agent answers and accepts the control plane.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, wire.PathHealth, nil, nil)
}

// Facts reports the host's facts.
func (c *Client) Facts(ctx context.Context) (dbplane.HostFacts, error) {
	var f dbplane.HostFacts
	err := c.do(ctx, http.MethodPost, wire.PathFacts, struct{}{}, &f)
	return f, err
}

// EnsurePackages installs the missing OS packages and verifies the others.
// Entries that are uploaded package files (*.deb, *.rpm) are resolved to
// their content and installed after the OS packages, which may be their
// dependencies.
func (c *Client) EnsurePackages(ctx context.Context, packages []string) error {
	names, files, err := c.resolve(ctx, packages)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, wire.PathEnsurePackages, wire.EnsurePackagesRequest{Packages: names, Files: files}, nil)
}

// EnsureUser makes sure a system user and its group exist.
func (c *Client) EnsureUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, wire.PathEnsureUser, wire.EnsureUserRequest{Name: name}, nil)
}

// EnsureDir creates a directory owned by owner with mode.
func (c *Client) EnsureDir(ctx context.Context, path, owner string, mode uint32) error {
	return c.do(ctx, http.MethodPost, wire.PathEnsureDir, wire.EnsureDirRequest{Path: path, Owner: owner, Mode: mode}, nil)
}

// WriteFile writes a file atomically.
func (c *Client) WriteFile(ctx context.Context, f dbplane.File) error {
	return c.do(ctx, http.MethodPost, wire.PathWriteFile, f, nil)
}

// Run runs a command as a user and waits for it.
func (c *Client) Run(ctx context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	var res dbplane.CommandResult
	if err := c.do(ctx, http.MethodPost, wire.PathRun, cmd, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// StartInstance starts a supervised process unless it runs.
func (c *Client) StartInstance(ctx context.Context, inst dbplane.Instance) error {
	return c.do(ctx, http.MethodPost, wire.PathStartInstance, inst, nil)
}

// StopInstance stops a supervised process and stops supervising it.
func (c *Client) StopInstance(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, wire.PathStopInstance, wire.InstanceRequest{ID: id}, nil)
}

// InstanceStatus reports a supervised process.
func (c *Client) InstanceStatus(ctx context.Context, id string) (*dbplane.InstanceStatus, error) {
	var st dbplane.InstanceStatus
	if err := c.do(ctx, http.MethodPost, wire.PathInstanceStatus, wire.InstanceRequest{ID: id}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// RemoveInstance stops and forgets an instance and removes paths.
func (c *Client) RemoveInstance(ctx context.Context, id string, paths []string) error {
	return c.do(ctx, http.MethodPost, wire.PathRemoveInstance, wire.RemoveInstanceRequest{ID: id, Paths: paths}, nil)
}

// CloseIdleConnections closes the connections kept for later calls.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// do sends in (if not nil) as JSON and decodes a successful answer into
// out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	op := "agentclient.Client " + strings.TrimPrefix(path, wire.Prefix)
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return dbplane.E(op, fmt.Errorf("while encoding the request: %w", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return dbplane.Permanent(dbplane.E(op, fmt.Errorf("while building the request: %w", err)))
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return dbplane.E(op, ctx.Err())
		}
		return dbplane.E(op, &dbplane.Error{Kind: dbplane.KindUnavailable,
			Message: fmt.Sprintf("the agent at %s cannot be reached", c.baseURL), Err: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		de, permanent := decodeError(resp)
		if permanent {
			// Permanent goes outside: E copies the *dbplane.Error it finds
			// and would drop the mark.
			return dbplane.Permanent(dbplane.E(op, de))
		}
		return dbplane.E(op, de)
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return dbplane.E(op, fmt.Errorf("while decoding the answer: %w", err))
	}
	return nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// decodeError turns an error answer back into the agent's *dbplane.Error,
// and tells whether the agent said it was permanent.
func decodeError(resp *http.Response) (*dbplane.Error, bool) {
	var body wire.ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err := json.Unmarshal(b, &body); err != nil || body.Error.Code == "" {
		// Not the agent's answer (a proxy's, say): judge by the status.
		return &dbplane.Error{Kind: dbplane.KindFromHTTPStatus(resp.StatusCode),
			Message: fmt.Sprintf("the agent answered %s", resp.Status)}, false
	}
	return &dbplane.Error{
		Kind:    dbplane.KindFromCode(body.Error.Code),
		Message: body.Error.Message,
		Fields:  body.Error.Details,
	}, body.Error.Permanent
}
