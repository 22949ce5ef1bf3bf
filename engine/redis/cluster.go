package redis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// totalSlots is the number of hash slots of a Redis cluster.
const totalSlots = 16384

// slotRange is a contiguous range of hash slots, both ends included.
type slotRange struct{ lo, hi int }

func (r slotRange) String() string { return fmt.Sprintf("%d-%d", r.lo, r.hi) }

// slotRanges splits the hash slots evenly over shards: shard i gets
// [i·16384/M, (i+1)·16384/M − 1], so every slot goes to exactly one shard
// and shard sizes differ by at most one slot.
func slotRanges(shards int) []slotRange {
	out := make([]slotRange, shards)
	for i := range shards {
		out[i] = slotRange{i * totalSlots / shards, (i+1)*totalSlots/shards - 1}
	}
	return out
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id     string
	addr   string // ip:port, without the bus port or hostname
	flags  []string
	master string // the primary's id, or "-"
	slots  []slotRange
}

func (cn clusterNode) has(flag string) bool { return slices.Contains(cn.flags, flag) }

// parseClusterNodes parses the reply of CLUSTER NODES:
//
//	<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> …
//
// Slots being imported or migrated ("[…]") are left out.
func parseClusterNodes(s string) ([]clusterNode, error) {
	var out []clusterNode
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("malformed CLUSTER NODES line %q", strings.TrimSpace(line))
		}
		addr, _, _ := strings.Cut(f[1], "@")
		cn := clusterNode{id: f[0], addr: addr, flags: strings.Split(f[2], ","), master: f[3]}
		for _, sl := range f[8:] {
			if strings.HasPrefix(sl, "[") {
				continue
			}
			r, err := parseSlots(sl)
			if err != nil {
				return nil, err
			}
			cn.slots = append(cn.slots, r)
		}
		out = append(out, cn)
	}
	return out, nil
}

// parseSlots parses "lo-hi" or a single slot.
func parseSlots(s string) (slotRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 0 || h < l || h >= totalSlots {
		return slotRange{}, fmt.Errorf("malformed slot range %q in CLUSTER NODES", s)
	}
	return slotRange{l, h}, nil
}

// byID returns the node of nodes with id.
func byID(nodes []clusterNode, id string) (clusterNode, bool) {
	for _, cn := range nodes {
		if cn.id == id {
			return cn, true
		}
	}
	return clusterNode{}, false
}
