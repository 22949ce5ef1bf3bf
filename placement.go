package dbplane

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// HostLoad is a host with what is already placed on it, the input of Place.
type HostLoad struct {
	Host     *Host
	Ports    map[int]bool // ports taken by nodes on the host
	MemoryMB int64        // memory promised to nodes on the host
	VolumeGB int64        // disk promised to nodes on the host
}

// ErrPlacementRace is wrapped by the KindConflict error of a store that
// could not record a placement because another cluster took one of its
// hosts or ports meanwhile: placing again resolves it.
var ErrPlacementRace = errors.New("placement raced with another cluster")

// DefaultPorts are the first ports tried for each engine's nodes.
var DefaultPorts = map[string]int{EnginePostgreSQL: 5432, EngineMySQL: 3306, EngineRedis: 6379}

// Place chooses a host and a port for each of a cluster's nodes: one node
// per host, on ONLINE hosts that are not drained and have room for the
// flavor's memory and the volume, spread over the spec's zones (or over all
// zones when the spec names none), taking the lowest free port from the
// engine's default on each host. Node 0 is the primary. It returns
// KindUnplaceable saying what is missing when the fleet cannot hold the
// cluster. A spec that pins its nodes (Spec.Hosts) is placed on exactly
// those hosts, in order, or not at all.
func Place(spec ClusterSpec, nodes int, flavor Flavor, hosts []HostLoad) ([]Node, error) {
	byZone, refused := candidates(spec, flavor, hosts)
	if len(spec.Hosts) > 0 {
		return placePinned(spec, flavor, hosts, byZone, refused)
	}
	zones := spec.Zones
	if len(zones) == 0 {
		for z := range byZone {
			zones = append(zones, z)
		}
		slices.Sort(zones)
	}
	placed := make([]Node, 0, nodes)
	used := map[int64]bool{}
	for i := 0; len(placed) < nodes; i++ {
		if len(zones) == 0 || i >= nodes*len(zones) {
			return nil, unplaceable(spec, nodes, len(placed), refused)
		}
		z := zones[i%len(zones)]
		h := nextHost(byZone[z], used)
		if h == nil {
			continue
		}
		used[h.Host.ID] = true
		placed = append(placed, newNode(spec, flavor, len(placed), h))
	}
	return placed, nil
}

// candidates returns the hosts that can take a node, by zone, ordered by
// free memory (most first), and why the others cannot.
func candidates(spec ClusterSpec, flavor Flavor, hosts []HostLoad) (map[string][]HostLoad, []string) {
	byZone := map[string][]HostLoad{}
	var refused []string
	needMB := int64(flavor.MemoryGB) * 1024
	for _, l := range hosts {
		h := l.Host
		reason := ""
		switch {
		case h.Status != HostOnline:
			reason = "is " + string(h.Status)
		case h.Drained:
			reason = "is drained"
		case len(spec.Zones) > 0 && !slices.Contains(spec.Zones, h.Zone):
			continue // not asked for: not worth a word
		case h.MemoryMB-l.MemoryMB < needMB:
			reason = fmt.Sprintf("has %d MB of memory free, needs %d", h.MemoryMB-l.MemoryMB, needMB)
		case h.DiskGB-l.VolumeGB < int64(spec.VolumeGB):
			reason = fmt.Sprintf("has %d GB of disk free, needs %d", h.DiskGB-l.VolumeGB, spec.VolumeGB)
		}
		if reason != "" {
			refused = append(refused, fmt.Sprintf("host %d (%s) %s", h.ID, h.Address, reason))
			continue
		}
		byZone[h.Zone] = append(byZone[h.Zone], l)
	}
	for _, ls := range byZone {
		slices.SortStableFunc(ls, func(a, b HostLoad) int {
			return cmp.Or(cmp.Compare(b.Host.MemoryMB-b.MemoryMB, a.Host.MemoryMB-a.MemoryMB), cmp.Compare(a.Host.ID, b.Host.ID))
		})
	}
	return byZone, refused
}

// placePinned puts node i on spec.Hosts[i]; every pinned host must be a
// candidate, and the error names each one that is not, and why.
func placePinned(spec ClusterSpec, flavor Flavor, hosts []HostLoad, byZone map[string][]HostLoad, refused []string) ([]Node, error) {
	ok := map[int64]*HostLoad{}
	for z := range byZone {
		for i := range byZone[z] {
			ok[byZone[z][i].Host.ID] = &byZone[z][i]
		}
	}
	var problems []string
	placed := make([]Node, 0, len(spec.Hosts))
	for i, id := range spec.Hosts {
		if l := ok[id]; l != nil {
			placed = append(placed, newNode(spec, flavor, i, l))
			continue
		}
		problems = append(problems, pinnedProblem(spec, id, hosts, refused))
	}
	if len(problems) > 0 {
		return nil, Errorf(KindUnplaceable, "cluster %s cannot have a node on each of hosts %v: %s",
			spec.Name, spec.Hosts, strings.Join(problems, "; "))
	}
	return placed, nil
}

// pinnedProblem says why pinned host id cannot take a node.
func pinnedProblem(spec ClusterSpec, id int64, hosts []HostLoad, refused []string) string {
	prefix := fmt.Sprintf("host %d (", id)
	for _, r := range refused {
		if strings.HasPrefix(r, prefix) {
			return r
		}
	}
	for _, l := range hosts {
		if l.Host.ID == id {
			return fmt.Sprintf("host %d (%s) is in zone %q, not in zones %s", id, l.Host.Address, l.Host.Zone, strings.Join(spec.Zones, ", "))
		}
	}
	return fmt.Sprintf("there is no host %d", id)
}

func nextHost(ls []HostLoad, used map[int64]bool) *HostLoad {
	for i := range ls {
		if !used[ls[i].Host.ID] {
			return &ls[i]
		}
	}
	return nil
}

func newNode(spec ClusterSpec, flavor Flavor, ordinal int, l *HostLoad) Node {
	port := DefaultPorts[spec.Engine]
	for l.Ports[port] {
		port++
	}
	role := nodeRole(spec, ordinal)
	return Node{
		Ordinal:  ordinal,
		MemoryMB: int64(flavor.MemoryGB) * 1024,
		VolumeGB: int64(spec.VolumeGB),
		HostID:   l.Host.ID,
		Address:  l.Host.Address,
		Role:     role,
		Port:     port,
		DataDir:  path.Join(l.Host.DataRoot, spec.Engine, spec.Name+"-"+strconv.Itoa(ordinal)),
		Status:   "creating",
	}
}

// nodeRole is the role of node ordinal: the primary is node 0; in a Redis
// cluster, nodes 0..R are shard 0 (its primary first), R+1..2R+1 shard 1, …
func nodeRole(spec ClusterSpec, ordinal int) string {
	switch {
	case spec.Topology == TopologyGalera:
		return "member"
	case spec.Topology == TopologyRedisCluster:
		per := 1 + spec.ReplicasPerShard
		if ordinal%per == 0 {
			return fmt.Sprintf("shard-%d-primary", ordinal/per)
		}
		return fmt.Sprintf("shard-%d-replica", ordinal/per)
	case ordinal == 0:
		return "primary"
	}
	return "replica"
}

func unplaceable(spec ClusterSpec, nodes, fit int, refused []string) error {
	where := "in the fleet"
	if len(spec.Zones) > 0 {
		where = "in zones " + strings.Join(spec.Zones, ", ")
	}
	msg := fmt.Sprintf("cluster %s needs %d hosts with room for one node each %s; only %d qualify", spec.Name, nodes, where, fit)
	if len(refused) > 0 {
		msg += ": " + strings.Join(refused, "; ")
	}
	return Errorf(KindUnplaceable, "%s", msg)
}
