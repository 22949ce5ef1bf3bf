package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/spf13/cobra"
)

// agentOptions configure one agent.
type agentOptions struct {
	Join     string // control plane URL
	Token    string // one-time join token; not needed once joined
	Listen   string // IP:port of the agent's mTLS API; the IP is the host's address
	DataRoot string
	StateDir string
	Region   string
	Zone     string
	Rack     string
	// CASHA256 pins the control plane's CA for the join; CAFile is the
	// alternative, a PEM file of CAs; InsecureSkipCAPin trusts any server.
	CASHA256          string
	CAFile            string
	InsecureSkipCAPin bool
}

// newAgentCmd returns `dbplane agent`.
func newAgentCmd(cfg *Config) *cobra.Command {
	o := agentOptions{}
	cmd := &cobra.Command{
		Use:   "agent --join URL --ca-sha256 FINGERPRINT --token TOKEN --listen IP:PORT",
		Short: "Run the agent of this host",
		Long: `Run the agent of this host: it joins the control plane at --join with a
one-time token (dbplane host join-token create), then serves the control plane
over mutual TLS on --listen and supervises the host's database processes.

Before it sends the token, the agent verifies the control plane: its TLS
certificate must chain to the CA whose SHA-256 fingerprint --ca-sha256 gives
(dbplane host join-token create prints the whole command), or to a CA of
--ca-file. It refuses to join without either, unless --insecure-skip-ca-pin.

The IP of --listen is the address the host's databases listen on. Once
joined, the agent keeps its identity in --state-dir and restarts without a
token. Database processes keep running while the agent is down; a restarted
agent re-adopts them. The token may also come from DBPLANE_JOIN_TOKEN.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Token == "" {
				o.Token = os.Getenv("DBPLANE_JOIN_TOKEN")
			}
			log := cfg.NewLogger(cmd.ErrOrStderr())
			a, err := startAgent(cmd.Context(), o, log)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			return a.stop()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Join, "join", "", "URL of the control plane to join")
	f.StringVar(&o.Token, "token", "", "one-time join token (default $DBPLANE_JOIN_TOKEN)")
	f.StringVar(&o.CASHA256, "ca-sha256", "", "SHA-256 fingerprint of the control plane's CA certificate, to verify it when joining")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM CA certificates to verify the control plane with when joining, instead of --ca-sha256")
	f.BoolVar(&o.InsecureSkipCAPin, "insecure-skip-ca-pin", false, "join without verifying the control plane (an impostor could take the token)")
	f.StringVar(&o.Listen, "listen", "", "IP:PORT of the agent's API; the IP is the host's address (required)")
	f.StringVar(&o.DataRoot, "data-root", "/var/lib/dbplane-agent/data", "where the host's database instances keep their data")
	f.StringVar(&o.StateDir, "state-dir", "/var/lib/dbplane-agent/state", "where the agent keeps its identity and supervised instances")
	f.StringVar(&o.Region, "region", "", "region label of the host")
	f.StringVar(&o.Zone, "zone", "", "zone (IDC) label of the host")
	f.StringVar(&o.Rack, "rack", "", "rack label of the host")
	bindConfigFlags(f, "log_level", "log_format")
	cmd.MarkFlagRequired("listen")
	return cmd
}

// runningAgent is an agent serving its host.
type runningAgent struct {
	host   *agent.Host
	server *agent.Server
	done   chan error
	HostID int64
}

// startAgent joins the control plane if this host has not yet, and serves
// the host until stop.
func startAgent(ctx context.Context, o agentOptions, log *slog.Logger) (*runningAgent, error) {
	ip, portText, err := net.SplitHostPort(o.Listen)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || net.ParseIP(ip) == nil || ip == "0.0.0.0" || ip == "::" {
		return nil, usageErrorf("--listen must be IP:PORT with the host's own IP, not %q", o.Listen)
	}
	host, err := agent.NewHost(agent.HostConfig{DataRoot: o.DataRoot, StateDir: o.StateDir, Address: ip,
		Region: o.Region, Zone: o.Zone, Rack: o.Rack, Logger: log})
	if err != nil {
		return nil, err
	}
	facts, err := host.Facts(ctx)
	if err != nil {
		host.Close()
		return nil, err
	}
	trust, err := o.joinTrust()
	if err != nil {
		host.Close()
		return nil, err
	}
	if _, err := agent.Join(ctx, apiJoiner, o.Join, o.Token, trust, facts, port, o.StateDir); err != nil {
		host.Close()
		return nil, fmt.Errorf("while joining %s: %w", o.Join, err)
	}
	cert, pool, hostID, err := agent.LoadIdentity(o.StateDir)
	if err != nil {
		host.Close()
		return nil, err
	}
	src, err := agentPackageSource(o, cert, pool)
	if err != nil {
		host.Close()
		return nil, err
	}
	host.SetPackageSource(src)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		host.Close()
		return nil, fmt.Errorf("while listening on %s: %w", o.Listen, err)
	}
	a := &runningAgent{host: host, server: agent.NewServer(host, agent.ServerTLSConfig(cert, pool), log),
		done: make(chan error, 1), HostID: hostID}
	go func() { a.done <- a.server.Serve(ln) }()
	log.Info("agent running", "host_id", hostID, "listen", o.Listen, "data_root", o.DataRoot)
	return a, nil
}

// apiJoiner is how an agent joins: through the native API's client, wired
// here so that the agent's package does not import the API.
func apiJoiner(controlPlaneURL string, hc *http.Client) agent.Joiner {
	c := httpapi.NewClient(controlPlaneURL)
	c.HTTPClient = hc
	return c
}

// joinTrust returns how the agent verifies the control plane it joins.
func (o agentOptions) joinTrust() (agent.JoinTrust, error) {
	t := agent.JoinTrust{CASHA256: o.CASHA256, InsecureSkipVerify: o.InsecureSkipCAPin}
	if o.CAFile != "" {
		var err error
		if t.CAPEM, err = os.ReadFile(o.CAFile); err != nil {
			return t, usageErrorf("--ca-file: %v", err)
		}
	}
	return t, nil
}

// stop stops serving and supervising. The database processes keep running:
// the next agent on this host re-adopts them.
func (a *runningAgent) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.server.Shutdown(ctx)
	if serr := <-a.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, a.host.Close())
}
