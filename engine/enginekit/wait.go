package enginekit

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// Waits poll fast at first, because most end within milliseconds (a node
// answering, a replica's link coming up), and then slower, so that a long
// wait does not load the nodes: each interval is half again the last, up to
// MaxPollInterval, by which a wait of seconds ends late by little.
const (
	MinPollInterval = 10 * time.Millisecond
	MaxPollInterval = 250 * time.Millisecond
)

// Poller paces the checks of one wait. Its zero value is ready to use.
type Poller struct{ interval time.Duration }

// Wait sleeps until the next check is due and reports true, or reports
// false once ctx ends.
func (p *Poller) Wait(ctx context.Context) bool {
	if p.interval == 0 {
		p.interval = MinPollInterval
	}
	t := time.NewTimer(p.interval)
	defer t.Stop()
	p.interval = min(p.interval*3/2, MaxPollInterval)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Poll calls check, paced by a Poller, until it returns nil, for at most
// timeout. When time runs out (or ctx ends) it returns the last error of
// check.
func Poll(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var p Poller
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if !p.Wait(ctx) {
			return err
		}
	}
}

// WaitReady polls check until the step's node is ready, for at most
// timeout. Its error says the node did not do what ("accept
// connections") in time, and carries the last error of check.
func WaitReady(ctx context.Context, s *Step, timeout time.Duration, what string, check func(context.Context) error) error {
	if err := Poll(ctx, timeout, check); err != nil {
		n := s.Node
		return fmt.Errorf("node %d on host %d did not %s within %s: %w", n.Ordinal, n.HostID, what, timeout, err)
	}
	return nil
}

// Succeeds returns a check for Poll that runs cmd with a and passes when
// it exits 0.
func Succeeds(a dbplane.HostAgent, cmd dbplane.Command) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := Run(ctx, a, cmd)
		return err
	}
}
