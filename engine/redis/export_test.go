package redis

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Conn is a connection to a node, for fakes of Redis.
type Conn = conn

// SetConnect makes the engine reach nodes through connect instead of
// go-redis.
func (e *Engine) SetConnect(connect func(ctx context.Context, addr, user, password string, tlsConf *tls.Config) (Conn, error)) {
	e.connect = connect
}

// RunStep runs the handler named name for a subtask of task taskID with the
// given parameters, as the task engine would, so that tests drive steps
// without a store of tasks.
func (e *Engine) RunStep(ctx context.Context, name string, taskID int64, params json.RawMessage, logf func(string, ...any)) error {
	return e.steps().RunStep(ctx, name, taskID, params, logf)
}

// HandlerNames lists the handlers Register registers.
func (e *Engine) HandlerNames() []string { return slices.Collect(maps.Keys(e.steps().Handlers())) }

// SlotRanges returns the slot range of each of shards shards, both ends
// included.
func SlotRanges(shards int) [][2]int {
	var out [][2]int
	for _, r := range slotRanges(shards) {
		out = append(out, [2]int{r.lo, r.hi})
	}
	return out
}

// ParseClusterNodes parses a CLUSTER NODES reply into id, address, flags,
// master and slot ranges per line.
func ParseClusterNodes(s string) ([]string, error) {
	nodes, err := parseClusterNodes(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		out = append(out, fmt.Sprintf("%s %s %v %s %v", n.id, n.addr, n.flags, n.master, n.slots))
	}
	return out, nil
}

// GoredisConnect is how the engine reaches real nodes.
var GoredisConnect = goredisConnect

// PasswordHash exposes the ACL password hash for tests.
var PasswordHash = passwordHash
