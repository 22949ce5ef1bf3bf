package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/service"
)

// runDev runs a control plane and n agents in one process until ctx ends.
// The admin password persists in the data dir, and the credentials are
// printed at every start.
func runDev(ctx context.Context, cfg *Config, out io.Writer, n int) error {
	log := cfg.NewLogger(out)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("while creating data dir %s: %w", cfg.DataDir, err)
	}
	if cfg.AdminPassword == "" {
		pw, err := devAdminPassword(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.AdminPassword = pw
	}
	cp, err := openControlPlane(ctx, cfg, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- cp.run(runCtx) }()

	agents, err := startDevAgents(ctx, cp, cfg.DataDir, n)
	if err == nil {
		err = cp.health.CheckAll(ctx)
	}
	if err != nil {
		stop()
		return errors.Join(err, stopAgents(agents), <-done)
	}
	fmt.Fprint(out, devBanner(cp, n, cfg))
	<-ctx.Done()
	stop()
	return errors.Join(stopAgents(agents), <-done)
}

// devBanner tells how to use a running dev control plane: the CLI's
// settings, curl's, and how an agent of another machine joins.
func devBanner(cp *controlPlane, n int, cfg *Config) string {
	return fmt.Sprintf(`
dbplane dev is running at %[1]s with %[2]d host(s)

  export DBPLANE_SERVER=%[1]s DBPLANE_CA_FILE=%[3]s DBPLANE_USER=admin DBPLANE_PASSWORD='%[4]s'

The API serves a certificate of the control plane's CA, %[3]s:
  curl --cacert %[3]s %[1]s/healthz
An agent on another machine joins with the CA's fingerprint:
  dbplane agent --join %[1]s --ca-sha256 %[5]s --token TOKEN --listen IP:7070

data dir: %[6]s

`, cp.URL, n, cp.CAFile, cfg.AdminPassword, cp.CAFingerprint, cfg.DataDir)
}

// devAgentOptions returns the options of dev's agent i of n: one agent on
// 127.0.0.1, or n agents on 127.0.0.11, .12, … in zones zone-1, zone-2, …
func devAgentOptions(controlPlaneURL, dataDir string, i, n int) agentOptions {
	ip, zone := "127.0.0.1", "local"
	if n > 1 {
		ip, zone = fmt.Sprintf("127.0.0.%d", 11+i), fmt.Sprintf("zone-%d", i+1)
	}
	root := filepath.Join(dataDir, "hosts", ip)
	return agentOptions{Join: controlPlaneURL, Listen: ip + ":7070", Region: "dev", Zone: zone,
		DataRoot: filepath.Join(root, "data"), StateDir: filepath.Join(root, "state")}
}

// startDevAgents starts n agents, joining them with tokens issued in
// process. An agent that joined before restarts from its state dir.
func startDevAgents(ctx context.Context, cp *controlPlane, dataDir string, n int) ([]*runningAgent, error) {
	var agents []*runningAgent
	for i := range n {
		o := devAgentOptions(cp.URL, dataDir, i, n)
		o.CASHA256 = cp.CAFingerprint
		if _, _, _, err := agent.LoadIdentity(o.StateDir); err != nil {
			tok, err := cp.hosts.CreateJoinToken(service.SystemContext(ctx), 0)
			if err != nil {
				return agents, err
			}
			o.Token = tok.Secret
		}
		a, err := startAgent(ctx, o, cp.log.With("agent", o.Listen))
		if err != nil {
			return agents, fmt.Errorf("while starting the agent on %s: %w", o.Listen, err)
		}
		agents = append(agents, a)
	}
	return agents, nil
}

func stopAgents(agents []*runningAgent) error {
	var errs []error
	for _, a := range agents {
		errs = append(errs, a.stop())
	}
	return errors.Join(errs...)
}
