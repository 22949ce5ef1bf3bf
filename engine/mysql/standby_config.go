package mysql

import (
	"slices"
	"strconv"

	"github.com/dbplane/dbplane"
)

// standbyServerIDBase puts the server_ids of a standby's nodes (101, 102,
// …) apart from those of its source (1, 2, …): a server skips the events
// of its own server_id, so a standby node sharing one with a source member
// would silently miss that member's writes.
const standbyServerIDBase = 100

// GTID domains. A galera cluster's writes carry the cluster's domain, the
// same on every member and different from every other cluster's, so that a
// standby tells its own writes from its source's; each member's local
// writes (what galera does not replicate) carry a domain of the member's
// own. Cluster domains are below 2^31, member domains at or above it.
const memberDomainBit = 1 << 31

// clusterDomain is the GTID domain of a cluster's writes: its id, below
// 2^31 (0 is left to clusters that set none).
func clusterDomain(c *dbplane.Cluster) uint32 {
	return uint32(c.ID) & (memberDomainBit - 1)
}

// memberDomain is the GTID domain of a galera member's local writes: the
// top bit, then the cluster id and the ordinal (galera has at most nine
// members, so four bits hold it).
func memberDomain(n node) uint32 {
	return memberDomainBit | (uint32(n.Cluster.ID)&(1<<27-1))<<4 | uint32(n.Ordinal)&0xf
}

// standbySettings make every node of a standby cluster read-only to its
// clients (the replication and galera threads still apply the source's
// writes; the admin account lacks the privileges that pass read_only). A
// standby of the standalone or replication topology writes its own events
// (its accounts) in its cluster's domain, so that they never meet the
// source's sequence numbers under gtid_strict_mode. s are the node's other
// settings.
func standbySettings(n node, s []setting) []setting {
	if n.Cluster.Spec.StandbyOf == 0 {
		return nil
	}
	var out []setting
	if !slices.ContainsFunc(s, func(x setting) bool { return x.name == "read_only" }) {
		out = append(out, setting{"read_only", "ON"})
	}
	if n.Cluster.Topology != dbplane.TopologyGalera {
		out = append(out, setting{"gtid_domain_id", strconv.FormatUint(uint64(clusterDomain(n.Cluster)), 10)})
	}
	return out
}
