package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane/engine/enginekit"
)

// replicationTimeout bounds how long verifying a replica waits for its
// link to the primary.
const replicationTimeout = 90 * time.Second

// verifyReplication waits until the replica reports its link to the
// primary up and the primary lists it online.
func (e *Engine) verifyReplication(ctx context.Context, s *step) error {
	n := s.n
	p, err := nodeOf(s.Cluster, shardPrimary(s.Cluster, n.Ordinal))
	if err != nil {
		return err
	}
	rc, err := s.open(ctx, n)
	if err != nil {
		return err
	}
	defer rc.Close()
	pc, err := s.open(ctx, p)
	if err != nil {
		return err
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(ctx, replicationTimeout)
	defer cancel()
	var pace enginekit.Poller
	for {
		err := replicaLinkUp(ctx, rc, pc, n, p)
		if err == nil {
			s.Logf("node %d replicates from node %d (%s): master_link_status up, listed online by the primary", n.Ordinal, p.Ordinal, p.hostPort())
			return nil
		}
		if !pace.Wait(ctx) {
			return fmt.Errorf("node %d does not replicate from node %d after %s: %w", n.Ordinal, p.Ordinal, replicationTimeout, err)
		}
	}
}

// replicaLinkUp checks, with INFO replication on both, that replica n
// follows primary p with its link up, and that p lists n online. The error
// says what is not so yet.
func replicaLinkUp(ctx context.Context, rc, pc conn, n, p node) error {
	ri, err := info(ctx, rc, n, "INFO", "replication")
	if err != nil {
		return err
	}
	if ri["role"] != "slave" {
		return fmt.Errorf("node %d has role %q, not slave", n.Ordinal, ri["role"])
	}
	if follows := enginekit.JoinHostPort(ri["master_host"], atoi(ri["master_port"])); follows != p.hostPort() {
		return fmt.Errorf("node %d follows %s, not %s", n.Ordinal, follows, p.hostPort())
	}
	if st := ri["master_link_status"]; st != "up" {
		return fmt.Errorf("node %d has master_link_status %s", n.Ordinal, st)
	}
	pi, err := info(ctx, pc, p, "INFO", "replication")
	if err != nil {
		return err
	}
	for k, v := range pi {
		if i, ok := strings.CutPrefix(k, "slave"); !ok || atoi(i) < 0 {
			continue // not a slave<N> field
		}
		f := fields(v)
		if f["ip"] == n.Address && f["port"] == strconv.Itoa(n.Port) {
			if f["state"] != "online" {
				return fmt.Errorf("the primary lists node %d in state %s", n.Ordinal, f["state"])
			}
			return nil
		}
	}
	return fmt.Errorf("the primary (%s connected replicas) does not list node %d", pi["connected_slaves"], n.Ordinal)
}

// fields parses the "k=v,k=v" value of an INFO field such as slave0.
func fields(v string) map[string]string {
	out := map[string]string{}
	for kv := range strings.SplitSeq(v, ",") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			out[k] = val
		}
	}
	return out
}

// atoi returns the number s holds, or -1.
func atoi(s string) int {
	i, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return i
}
