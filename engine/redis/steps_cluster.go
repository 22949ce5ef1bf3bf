package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Bounds of the waits of the cluster steps. A handshake and the gossip that
// spreads it take a few seconds; slots and replicas a few more.
const (
	meetTimeout          = 60 * time.Second
	clusterVerifyTimeout = 90 * time.Second
)

// member is a node of a Redis cluster with an open admin connection and
// its cluster node id.
type member struct {
	node
	c  conn
	id string
}

// members connects to every node of the cluster and asks each its node id.
// The returned function closes the connections.
func (s *step) members(ctx context.Context) ([]member, func(), error) {
	nodes, err := allNodes(s.Cluster)
	if err != nil {
		return nil, nil, err
	}
	spec := s.Cluster.Spec
	if want := spec.Shards * (1 + spec.ReplicasPerShard); spec.Shards < 1 || len(nodes) != want {
		return nil, nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"cluster %s has %d nodes; %d shards of 1 primary and %d replicas need %d", s.Cluster.Name, len(nodes), spec.Shards, spec.ReplicasPerShard, want))
	}
	var ms []member
	closeAll := func() {
		for _, m := range ms {
			m.c.Close()
		}
	}
	for _, n := range nodes {
		c, err := s.open(ctx, n)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ms = append(ms, member{node: n, c: c})
		id, err := command(ctx, c, n, "CLUSTER", "MYID")
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ms[len(ms)-1].id = id
	}
	return ms, closeAll, nil
}

// primaryMember returns the member that is the primary of m's shard.
func (s *step) primaryMember(ms []member, m member) (member, error) {
	want := shardPrimary(s.Cluster, m.Ordinal)
	for _, o := range ms {
		if o.Ordinal == want {
			return o, nil
		}
	}
	return member{}, dbplane.Permanent(fmt.Errorf("cluster %s has no node %d, the primary of node %d's shard", s.Cluster.Name, want, m.Ordinal))
}

// table returns the cluster nodes m knows.
func (m member) table(ctx context.Context) ([]clusterNode, error) {
	out, err := command(ctx, m.c, m.node, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	return parseClusterNodes(out)
}

// myself returns m's own line of CLUSTER NODES.
func (m member) myself(ctx context.Context) (clusterNode, error) {
	nodes, err := m.table(ctx)
	if err != nil {
		return clusterNode{}, err
	}
	if cn, ok := byID(nodes, m.id); ok {
		return cn, nil
	}
	return clusterNode{}, fmt.Errorf("node %d does not list itself in CLUSTER NODES", m.Ordinal)
}

// createCluster joins the nodes into one Redis cluster, the way dbplane's
// roles say, rather than letting redis-cli choose: distinct config epochs,
// each shard's slot range on its primary (CLUSTER ADDSLOTSRANGE), CLUSTER
// MEET between every two nodes, and each replica attached to its shard's
// primary (CLUSTER REPLICATE). Slots come before the meeting, as with
// redis-cli: a primary that knows no primary with slots counts itself in a
// minority, and once it leaves the minority it waits a whole node timeout
// before it reports cluster_state ok. Nodes that do not see a primary's
// slots, or a replica's role, yet are met again rather than left to wait
// for the next ping. Each part checks what is in place first, so a re-run
// finds the slots assigned and the replicas attached and changes nothing.
func (e *Engine) createCluster(ctx context.Context, s *step) error {
	ms, closeAll, err := s.members(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := s.setEpochs(ctx, ms); err != nil {
		return err
	}
	if err := s.assignSlots(ctx, ms); err != nil {
		return err
	}
	if err := s.meet(ctx, ms); err != nil {
		return err
	}
	if err := s.attachReplicas(ctx, ms); err != nil {
		return err
	}
	return s.announceReplicas(ctx, ms)
}

// setEpochs gives every node that has not met another yet a distinct
// config epoch (its ordinal + 1), as redis-cli does, so that no two
// primaries start with the same epoch and need Redis' collision handling.
func (s *step) setEpochs(ctx context.Context, ms []member) error {
	for _, m := range ms {
		ci, err := info(ctx, m.c, m.node, "CLUSTER", "INFO")
		if err != nil {
			return err
		}
		if ci["cluster_known_nodes"] != "1" || ci["cluster_my_epoch"] != "0" {
			continue
		}
		if _, err := command(ctx, m.c, m.node, "CLUSTER", "SET-CONFIG-EPOCH", m.Ordinal+1); err != nil {
			return err
		}
	}
	return nil
}

// meet has every node meet each later node it does not know yet, so that
// every two nodes shake hands directly instead of waiting for gossip to
// spread the news (seconds), then waits until every node knows every other
// one, past the handshake.
func (s *step) meet(ctx context.Context, ms []member) error {
	met := 0
	for i, m := range ms {
		known, err := m.table(ctx)
		if err != nil {
			return err
		}
		for _, o := range ms[i+1:] {
			if _, ok := byID(known, o.id); ok {
				continue
			}
			if _, err := command(ctx, m.c, m.node, "CLUSTER", "MEET", o.Address, o.Port, o.busPort()); err != nil {
				return err
			}
			met++
		}
	}
	ctx, cancel := context.WithTimeout(ctx, meetTimeout)
	defer cancel()
	var p enginekit.Poller
	for {
		err := allKnown(ctx, ms)
		if err == nil {
			s.Logf("sent %d meetings; all %d nodes know each other", met, len(ms))
			return s.spreadSlots(ctx, ms)
		}
		if !p.Wait(ctx) {
			return fmt.Errorf("the nodes did not all meet within %s: %w", meetTimeout, err)
		}
	}
}

// A node learns of another's slots and role from the other's own messages,
// once their handshake is over; until the other pings it, up to half a node
// timeout later, it sees the other as it was when they met. A second CLUSTER
// MEET from the other sends such a message at once: the node knows the
// sender, so it takes the sender's slots and role from it, and the
// handshake the MEET starts on the sender's side ends as soon as the sender
// finds it already knows the node.

// spreadSlots has each primary meet again every node that does not see its
// slots yet.
func (s *step) spreadSlots(ctx context.Context, ms []member) error {
	sent := 0
	for _, m := range ms {
		table, err := m.table(ctx)
		if err != nil {
			return err
		}
		for _, o := range ms {
			if o.id == m.id || !o.isPrimary() {
				continue
			}
			if cn, ok := byID(table, o.id); ok && len(cn.slots) > 0 {
				continue
			}
			if err := remind(ctx, o, m); err != nil {
				return err
			}
			sent++
		}
	}
	if sent > 0 {
		s.Logf("%d times a node did not see a primary's slots yet: the primary met it again", sent)
	}
	return nil
}

// announceReplicas has each replica that node 0 does not see following its
// primary yet meet node 0 again.
func (s *step) announceReplicas(ctx context.Context, ms []member) error {
	table, err := ms[0].table(ctx)
	if err != nil {
		return err
	}
	sent := 0
	for _, m := range ms[1:] {
		if m.isPrimary() {
			continue
		}
		p, err := s.primaryMember(ms, m)
		if err != nil {
			return err
		}
		if cn, ok := byID(table, m.id); ok && cn.has("slave") && cn.master == p.id {
			continue
		}
		if err := remind(ctx, m, ms[0]); err != nil {
			return err
		}
		sent++
	}
	if sent > 0 {
		s.Logf("node 0 did not see %d replicas as such yet: they met it again", sent)
	}
	return nil
}

// remind has from send to a node that knows it a message with its slots and
// role: a second CLUSTER MEET.
func remind(ctx context.Context, from, to member) error {
	_, err := command(ctx, from.c, from.node, "CLUSTER", "MEET", to.Address, to.Port, to.busPort())
	return err
}

// allKnown fails unless every member lists every member, past the
// handshake, at the address dbplane gave it.
func allKnown(ctx context.Context, ms []member) error {
	for _, m := range ms {
		table, err := m.table(ctx)
		if err != nil {
			return err
		}
		for _, o := range ms {
			cn, ok := byID(table, o.id)
			switch {
			case !ok:
				return fmt.Errorf("node %d does not know node %d yet", m.Ordinal, o.Ordinal)
			case cn.has("handshake") || cn.has("noaddr"):
				return fmt.Errorf("node %d is still in a handshake with node %d", m.Ordinal, o.Ordinal)
			case cn.addr != o.hostPort():
				return fmt.Errorf("node %d knows node %d at %s, not %s", m.Ordinal, o.Ordinal, cn.addr, o.hostPort())
			}
		}
	}
	return nil
}

// assignSlots gives each shard's primary its slot range, unless it holds
// it already. A primary that holds other slots is a conflict no retry
// resolves.
func (s *step) assignSlots(ctx context.Context, ms []member) error {
	ranges := slotRanges(s.Cluster.Spec.Shards)
	for _, m := range ms {
		if !m.isPrimary() {
			continue
		}
		want, err := shardRange(ranges, m.node)
		if err != nil {
			return err
		}
		me, err := m.myself(ctx)
		if err != nil {
			return err
		}
		switch {
		case slices.Equal(me.slots, []slotRange{want}):
			s.Logf("node %d (shard %d primary) already holds slots %s", m.Ordinal, m.shard(), want)
		case len(me.slots) == 0:
			if _, err := command(ctx, m.c, m.node, "CLUSTER", "ADDSLOTSRANGE", want.lo, want.hi); err != nil {
				return err
			}
			s.Logf("assigned slots %s to node %d (shard %d primary)", want, m.Ordinal, m.shard())
		default:
			return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
				"node %d (shard %d primary) holds slots %v, not %s", m.Ordinal, m.shard(), me.slots, want))
		}
	}
	return nil
}

// shardRange returns the slot range of the shard of n.
func shardRange(ranges []slotRange, n node) (slotRange, error) {
	if n.shard() >= len(ranges) {
		return slotRange{}, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"node %d belongs to shard %d, but the spec asks for %d shards", n.Ordinal, n.shard(), len(ranges)))
	}
	return ranges[n.shard()], nil
}

// attachReplicas makes each replica follow its shard's primary, unless it
// does already.
func (s *step) attachReplicas(ctx context.Context, ms []member) error {
	for _, m := range ms {
		if m.isPrimary() {
			continue
		}
		p, err := s.primaryMember(ms, m)
		if err != nil {
			return err
		}
		me, err := m.myself(ctx)
		if err != nil {
			return err
		}
		switch {
		case me.has("slave") && me.master == p.id:
			s.Logf("node %d already replicates node %d (shard %d)", m.Ordinal, p.Ordinal, m.shard())
			continue
		case len(me.slots) > 0:
			return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
				"node %d should replicate shard %d but holds slots %v", m.Ordinal, m.shard(), me.slots))
		}
		if _, err := command(ctx, m.c, m.node, "CLUSTER", "REPLICATE", p.id); err != nil {
			return err
		}
		s.Logf("node %d now replicates node %d (shard %d primary)", m.Ordinal, p.Ordinal, m.shard())
	}
	return nil
}

// verifyCluster waits until the cluster is whole: every node reports
// cluster_state ok with all 16384 slots assigned and every node known, each
// primary holds its shard's slots, and each replica follows its shard's
// primary with its replication link up.
func (e *Engine) verifyCluster(ctx context.Context, s *step) error {
	ms, closeAll, err := s.members(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(ctx, clusterVerifyTimeout)
	defer cancel()
	var p enginekit.Poller
	for {
		err := s.clusterWhole(ctx, ms)
		if err == nil {
			s.Logf("cluster_state ok on all %d nodes: %d shards own all %d slots, every replica follows its primary",
				len(ms), s.Cluster.Spec.Shards, totalSlots)
			return nil
		}
		if dbplane.IsPermanent(err) {
			return err
		}
		if !p.Wait(ctx) {
			return fmt.Errorf("the cluster is not whole after %s: %w", clusterVerifyTimeout, err)
		}
	}
}

// clusterWhole fails with what is not yet as verifyCluster wants it.
func (s *step) clusterWhole(ctx context.Context, ms []member) error {
	want := map[string]string{"cluster_state": "ok", "cluster_slots_assigned": strconv.Itoa(totalSlots),
		"cluster_known_nodes": strconv.Itoa(len(ms))}
	for _, m := range ms {
		ci, err := info(ctx, m.c, m.node, "CLUSTER", "INFO")
		if err != nil {
			return err
		}
		for k, v := range want {
			if ci[k] != v {
				return fmt.Errorf("node %d reports %s:%s", m.Ordinal, k, ci[k])
			}
		}
	}
	table, err := ms[0].table(ctx)
	if err != nil {
		return err
	}
	ranges := slotRanges(s.Cluster.Spec.Shards)
	for _, m := range ms {
		cn, _ := byID(table, m.id)
		if m.isPrimary() {
			r, err := shardRange(ranges, m.node)
			if err != nil {
				return err
			}
			if !cn.has("master") || !slices.Equal(cn.slots, []slotRange{r}) {
				return fmt.Errorf("node 0 sees node %d with flags %v and slots %v, want a master with %s", m.Ordinal, cn.flags, cn.slots, r)
			}
			continue
		}
		p, err := s.primaryMember(ms, m)
		if err != nil {
			return err
		}
		if !cn.has("slave") || cn.master != p.id {
			return fmt.Errorf("node 0 sees node %d with flags %v following %s, want a replica of node %d", m.Ordinal, cn.flags, cn.master, p.Ordinal)
		}
		if err := replicaLinkUp(ctx, m.c, p.c, m.node, p.node); err != nil {
			return err
		}
	}
	return nil
}
