package mysql

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
)

// joinTimeout bounds how long a member waits to be synced: a joiner copies
// the whole database from a donor first.
const joinTimeout = 8 * time.Minute

// bootstrapFlag starts a galera member as a new cluster of its own.
const bootstrapFlag = "--wsrep-new-cluster"

// bootstrap starts member 0 as a new galera cluster and waits until it is
// synced and primary. A member that runs is left alone; a member that does
// not while other members run joins them instead, so that running the step
// again never splits a cluster in two.
func (e *Engine) bootstrap(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
		s.Logf("member %d runs already", n.Ordinal)
		return s.waitSynced(ctx, a, n, readyTimeout)
	}
	peers, err := s.runningMembers(ctx, n)
	if err != nil {
		return err
	}
	// Bootstrapping takes seconds; joining copies the database first.
	extra, wait := []string{bootstrapFlag}, readyTimeout
	if len(peers) > 0 {
		extra, wait = nil, joinTimeout
		s.Logf("members %v run: member %d joins them instead of bootstrapping", peers, n.Ordinal)
	}
	inst, err := e.instance(s, n, extra...)
	if err != nil {
		return err
	}
	if err := replaceInstance(ctx, a, inst); err != nil {
		return fmt.Errorf("while starting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := s.waitSynced(ctx, a, n, wait); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	if len(extra) > 0 {
		s.Logf("member %d bootstrapped galera cluster %s on %s", n.Ordinal, s.Cluster.Name, n.hostPort())
	}
	return nil
}

// runningMembers returns the ordinals of the members other than n whose
// process runs.
func (s *step) runningMembers(ctx context.Context, n node) ([]int, error) {
	var out []int
	for _, m := range others(s.Cluster, n) {
		a, err := s.Agent(ctx, m.Node)
		if err != nil {
			return nil, err
		}
		st, err := a.InstanceStatus(ctx, m.instanceID())
		switch {
		case dbplane.ErrorKind(err) == dbplane.KindNotFound:
		case err != nil:
			return nil, fmt.Errorf("while asking host %d about member %d: %w", m.HostID, m.Ordinal, err)
		case st.Running:
			out = append(out, m.Ordinal)
		}
	}
	return out, nil
}

// replaceInstance starts inst; if the agent supervises the instance with
// another spec (member 0 bootstrapped with --wsrep-new-cluster), it stops
// that process first.
func replaceInstance(ctx context.Context, a dbplane.HostAgent, inst dbplane.Instance) error {
	err := a.StartInstance(ctx, inst)
	if dbplane.ErrorKind(err) != dbplane.KindConflict {
		return err
	}
	if err := a.StopInstance(ctx, inst.ID); err != nil {
		return fmt.Errorf("while stopping instance %s to start it anew: %w", inst.ID, err)
	}
	return a.StartInstance(ctx, inst)
}

// join starts a galera member, which joins the cluster: it receives a
// snapshot of the database from a donor with mariadb-backup (the donor
// streams it over socat to the member's SST port), then the writes since
// from the donor's cache. Members may join together: galera has a donor
// serve one transfer at a time, and a joiner that finds no free donor
// waits for one (a member that has joined becomes one).
func (e *Engine) join(ctx context.Context, s *step) error {
	n := s.n
	inst, err := e.instance(s, n)
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	if err := a.StartInstance(ctx, inst); err != nil {
		return fmt.Errorf("while starting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := s.waitSynced(ctx, a, n, joinTimeout); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	s.Logf("member %d joined galera cluster %s on %s", n.Ordinal, s.Cluster.Name, n.hostPort())
	return nil
}

// rejoin restarts member 0 without --wsrep-new-cluster once the others
// have joined: the agent restarts a member that crashes with the
// arguments it was started with, and a member that bootstraps again splits
// the cluster (or, refused by galera, never comes back). The member leaves
// cleanly, and rejoins with the writes it missed (an incremental transfer
// from another member's cache). It is left alone when it already runs
// without the flag, and not restarted while it is the only member.
func (e *Engine) rejoin(ctx context.Context, s *step) error {
	n := s.n
	inst, err := e.instance(s, n)
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	err = a.StartInstance(ctx, inst)
	if err == nil {
		s.Logf("member %d runs without %s", n.Ordinal, bootstrapFlag)
		return s.waitSynced(ctx, a, n, readyTimeout)
	}
	if dbplane.ErrorKind(err) != dbplane.KindConflict {
		return fmt.Errorf("while starting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	st, err := s.galeraStatus(ctx, a, n)
	if err != nil {
		return err
	}
	if size, _ := strconv.Atoi(st["wsrep_cluster_size"]); size < 2 {
		return fmt.Errorf("member %d is alone in its cluster (wsrep_cluster_size %q): restarting it would end the cluster", n.Ordinal, st["wsrep_cluster_size"])
	}
	s.Logf("restarting member %d without %s (cluster size %s)", n.Ordinal, bootstrapFlag, st["wsrep_cluster_size"])
	if err := replaceInstance(ctx, a, inst); err != nil {
		return fmt.Errorf("while restarting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := s.waitSynced(ctx, a, n, joinTimeout); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	s.Logf("member %d rejoined the cluster", n.Ordinal)
	return nil
}

// verifyGalera waits until every member is synced in one primary
// component holding all of them: wsrep_cluster_size equals the member
// count everywhere, with one cluster state UUID.
func (e *Engine) verifyGalera(ctx context.Context, s *step) error {
	ms := members(s.Cluster)
	want := strconv.Itoa(len(ms))
	return poll(ctx, streamTimeout, func(ctx context.Context) (bool, string) {
		uuid := ""
		for _, m := range ms {
			a, err := s.Agent(ctx, m.Node)
			if err != nil {
				return false, err.Error()
			}
			st, err := s.galeraStatus(ctx, a, m)
			if err != nil {
				return false, err.Error()
			}
			if !synced(st) || st["wsrep_cluster_size"] != want {
				return false, fmt.Sprintf("member %d: %s, wsrep_cluster_size %s of %s", m.Ordinal, describe(st), st["wsrep_cluster_size"], want)
			}
			if uuid != "" && st["wsrep_cluster_state_uuid"] != uuid {
				return false, fmt.Sprintf("member %d is in cluster %s, member 0 in %s", m.Ordinal, st["wsrep_cluster_state_uuid"], uuid)
			}
			uuid = st["wsrep_cluster_state_uuid"]
		}
		s.Logf("all %s members are synced in one primary component (wsrep_cluster_size %s, state %s)", want, want, uuid)
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("the galera cluster is not complete after %s: %s", streamTimeout, last)
	})
}

// galeraStatus returns the wsrep status variables of a member, by
// lower-case name.
func (s *step) galeraStatus(ctx context.Context, a dbplane.HostAgent, n node) (map[string]string, error) {
	out, err := s.sql(ctx, a, n, "SHOW GLOBAL STATUS LIKE 'wsrep%';\n")
	if err != nil {
		return nil, err
	}
	return nameValues(out), nil
}

// synced reports whether a member's status says it serves: synced, in the
// primary component, ready.
func synced(st map[string]string) bool {
	return st["wsrep_local_state_comment"] == "Synced" && st["wsrep_cluster_status"] == "Primary" && st["wsrep_ready"] == "ON"
}

func describe(st map[string]string) string {
	return fmt.Sprintf("state %q, cluster status %q, ready %q", st["wsrep_local_state_comment"], st["wsrep_cluster_status"], st["wsrep_ready"])
}

// waitSynced polls a member until it is synced in the primary component.
func (s *step) waitSynced(ctx context.Context, a dbplane.HostAgent, n node, timeout time.Duration) error {
	return poll(ctx, timeout, func(ctx context.Context) (bool, string) {
		st, err := s.galeraStatus(ctx, a, n)
		if err != nil {
			return false, err.Error()
		}
		if !synced(st) {
			return false, describe(st)
		}
		s.Logf("member %d is synced (wsrep_cluster_size %s)", n.Ordinal, st["wsrep_cluster_size"])
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("member %d on host %d is not synced after %s: %s", n.Ordinal, n.HostID, timeout, last)
	})
}
