package agentclient

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/dbplane/dbplane"
)

// HostFinder finds hosts by id; dbplane.HostStore is one.
type HostFinder interface {
	// FindHostByID returns a host; KindNotFound if it does not exist.
	FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error)
}

// Dialer returns the agent of a host as a Client, reached at the host's
// Address:AgentPort. It implements dbplane.AgentDialer. Clients are cached
// per host and share one connection pool.
type Dialer struct {
	hosts HostFinder
	hc    *http.Client
	files PackageResolver

	mu      sync.Mutex
	clients map[int64]*Client
}

// Interface guard: the task engine's handlers dial agents through it.
var _ dbplane.AgentDialer = (*Dialer)(nil)

// NewDialer returns a dialer that finds hosts with hosts and authenticates
// with tlsCfg (see ClientTLSConfig).
func NewDialer(hosts HostFinder, tlsCfg *tls.Config) *Dialer {
	return &Dialer{hosts: hosts, hc: newHTTPClient(tlsCfg), clients: make(map[int64]*Client)}
}

// Agent returns the agent of host hostID. KindNotFound if the host does
// not exist; KindUnavailable if it has no agent address yet. It does not
// call the agent: the first call on the client tells whether it answers.
func (d *Dialer) Agent(ctx context.Context, hostID int64) (dbplane.HostAgent, error) {
	c, err := d.Client(ctx, hostID)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Client is Agent with the concrete type, for callers that also need
// Client.Health (the host health monitor).
func (d *Dialer) Client(ctx context.Context, hostID int64) (*Client, error) {
	const op = "agentclient.Dialer.Client"
	h, err := d.hosts.FindHostByID(ctx, hostID)
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	if h.Address == "" || h.AgentPort <= 0 {
		return nil, dbplane.E(op, dbplane.Errorf(dbplane.KindUnavailable, "host %d has no agent address", hostID))
	}
	url := "https://" + net.JoinHostPort(h.Address, strconv.Itoa(h.AgentPort))
	d.mu.Lock()
	defer d.mu.Unlock()
	// A host whose address changed (a re-joined agent) gets a new client.
	if c, ok := d.clients[hostID]; ok && c.baseURL == url {
		return c, nil
	}
	c := newClient(url, d.hc)
	c.files = d.files
	d.clients[hostID] = c
	return c, nil
}

// Close closes the idle connections to every agent.
func (d *Dialer) Close() { d.hc.CloseIdleConnections() }
