package redis_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dbplane/dbplane/engine/redis"
)

// fakeRedis pretends to be the Redis nodes of the fake agents: enough of
// PING, ACL, CONFIG, INFO replication and the CLUSTER commands dbplane
// sends for its steps to build and check clusters. A MEET spreads at once
// (perfect gossip), and replicas are in sync as soon as their primary runs.
type fakeRedis struct {
	mu       sync.Mutex
	password string // the admin password the ACL file grants
	// adminHash, once an ACL SETUSER gave the admin one, replaces
	// password: the SHA-256 of the password the admin needs.
	adminHash string
	nodes     map[string]*fakeNode // by host:port; stopped nodes keep their state
	sent      []sentCommand
	nextID    int
	// slowSlots makes a node see another's slots and role as they were
	// when it last heard from it after their handshake, as Redis does, and
	// never by gossip: the node that meets hears from the met one, and a
	// node that knows the sender of a MEET hears from it.
	slowSlots bool
}

// fakeNode is the state of one pretend redis-server.
type fakeNode struct {
	addr      string
	running   bool
	tls       bool // it serves TLS only (tls-port), as redis.conf says
	cluster   bool
	id        string
	epoch     int
	known     map[string]bool     // addresses of the cluster nodes it knows, itself included
	heard     map[string]fakeView // what it last heard from the nodes, by address (with slowSlots)
	slots     [][2]int
	master    string // address of the primary it replicates in a Redis cluster
	replicaof string // address of the primary from redis.conf
	users     map[string][]string
	config    map[string]string
}

// sentCommand is a command a node received.
type sentCommand struct {
	addr string
	args []string
}

func newFakeRedis(password string) *fakeRedis {
	return &fakeRedis{password: password, nodes: map[string]*fakeNode{}}
}

// start starts the node a redis.conf describes, keeping the state of an
// earlier run (as nodes.conf and the data directory would), and returns
// its address.
func (r *fakeRedis) start(conf string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := map[string]string{}
	for line := range strings.Lines(conf) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k != "" && !strings.HasPrefix(k, "#") {
			d[k] = v
		}
	}
	port, tlsOnly := d["port"], false
	if d["tls-port"] != "" && port == "0" {
		port, tlsOnly = d["tls-port"], true
	}
	addr := net.JoinHostPort(d["bind"], port)
	n := r.nodes[addr]
	if n == nil {
		r.nextID++
		n = &fakeNode{addr: addr, id: fmt.Sprintf("%040x", r.nextID), known: map[string]bool{addr: true}, heard: map[string]fakeView{}, config: map[string]string{}, users: map[string][]string{}}
		r.nodes[addr] = n
	}
	n.running = true
	n.tls = tlsOnly
	n.cluster = d["cluster-enabled"] == "yes"
	n.replicaof = ""
	if host, port, ok := strings.Cut(d["replicaof"], " "); ok {
		n.replicaof = net.JoinHostPort(host, port)
	}
	return addr, nil
}

// stop stops a node and, with forget, drops its state.
func (r *fakeRedis) stop(addr string, forget bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.nodes[addr]; n != nil {
		n.running = false
		if forget {
			delete(r.nodes, addr)
		}
	}
}

// connect is the engine's way to a node.
func (r *fakeRedis) connect(_ context.Context, addr, user, password string, tlsConf *tls.Config) (redis.Conn, error) {
	return &fakeConn{r: r, addr: addr, user: user, password: password, tls: tlsConf}, nil
}

// count returns how many commands starting with prefix (e.g. "CLUSTER
// MEET") the nodes received.
func (r *fakeRedis) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.sent {
		if strings.HasPrefix(strings.ToUpper(strings.Join(c.args, " ")), prefix) {
			n++
		}
	}
	return n
}

// commands returns every command the nodes received.
func (r *fakeRedis) commands() []sentCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

type fakeConn struct {
	r                    *fakeRedis
	addr, user, password string
	tls                  *tls.Config
}

func (c *fakeConn) Close() error { return nil }

// checkTLS fails a connection that does not speak what the node serves,
// or that would not verify the node's certificate and address.
func (c *fakeConn) checkTLS(n *fakeNode) error {
	host, _, _ := net.SplitHostPort(c.addr)
	switch {
	case n.tls && c.tls == nil:
		return fmt.Errorf("read tcp %s: connection reset by peer", c.addr)
	case !n.tls && c.tls != nil:
		return fmt.Errorf("tls: first record does not look like a TLS handshake (%s)", c.addr)
	case c.tls != nil && (c.tls.RootCAs == nil || c.tls.ServerName != host || c.tls.InsecureSkipVerify):
		return fmt.Errorf("the TLS configuration to %s would not verify it: server name %q", c.addr, c.tls.ServerName)
	}
	return nil
}

func (c *fakeConn) Do(_ context.Context, args ...any) (any, error) {
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.nodes[c.addr]
	if n == nil || !n.running {
		return nil, fmt.Errorf("dial tcp %s: connect: connection refused", c.addr)
	}
	if err := c.checkTLS(n); err != nil {
		return nil, err
	}
	if c.user != redis.AdminUser || r.adminHash == "" && c.password != r.password ||
		r.adminHash != "" && redis.PasswordHash(c.password) != r.adminHash {
		return nil, errors.New("WRONGPASS invalid username-password pair or user is disabled.")
	}
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = fmt.Sprint(a)
	}
	r.sent = append(r.sent, sentCommand{addr: c.addr, args: words})
	switch strings.ToUpper(words[0]) {
	case "PING":
		return "PONG", nil
	case "ACL":
		switch strings.ToUpper(words[1]) {
		case "WHOAMI":
			return c.user, nil
		case "GETUSER":
			var hashes []any
			for _, rule := range n.users[words[2]] {
				if h, ok := strings.CutPrefix(rule, "#"); ok {
					hashes = append(hashes, h)
				}
			}
			return []any{"flags", []any{"on"}, "passwords", hashes}, nil
		}
		n.users[words[2]] = words[3:]
		if words[2] == redis.AdminUser && len(words) == 5 && words[3] == "resetpass" {
			r.adminHash = strings.TrimPrefix(words[4], "#")
		}
		return "OK", nil
	case "CONFIG":
		for i := 2; i+1 < len(words); i += 2 {
			n.config[words[i]] = words[i+1]
		}
		return "OK", nil
	case "INFO":
		return r.replicationInfo(n), nil
	case "CLUSTER":
		if !n.cluster {
			return nil, errors.New("ERR This instance has cluster support disabled")
		}
		return r.cluster(n, strings.ToUpper(words[1]), words[2:])
	}
	return nil, fmt.Errorf("ERR unknown command '%s'", words[0])
}

// replicationInfo answers INFO replication.
func (r *fakeRedis) replicationInfo(n *fakeNode) string {
	follows := n.replicaof
	if n.cluster {
		follows = n.master
	}
	var b strings.Builder
	b.WriteString("# Replication\r\n")
	if follows != "" {
		host, port, _ := net.SplitHostPort(follows)
		link := "down"
		if p := r.nodes[follows]; p != nil && p.running {
			link = "up"
		}
		fmt.Fprintf(&b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%s\r\nmaster_link_status:%s\r\nslave_repl_offset:0\r\n", host, port, link)
		return b.String()
	}
	var replicas []string
	for _, o := range r.nodes {
		if o.running && (o.replicaof == n.addr || o.cluster && o.master == n.addr) {
			replicas = append(replicas, o.addr)
		}
	}
	slices.Sort(replicas)
	fmt.Fprintf(&b, "role:master\r\nconnected_slaves:%d\r\n", len(replicas))
	for i, a := range replicas {
		host, port, _ := net.SplitHostPort(a)
		fmt.Fprintf(&b, "slave%d:ip=%s,port=%s,state=online,offset=0,lag=0\r\n", i, host, port)
	}
	return b.String()
}

// cluster answers the CLUSTER subcommands dbplane sends.
func (r *fakeRedis) cluster(n *fakeNode, sub string, args []string) (any, error) {
	switch sub {
	case "MYID":
		return n.id, nil
	case "INFO":
		assigned := 0
		for a := range n.known {
			for _, s := range r.viewOf(n, a).slots {
				assigned += s[1] - s[0] + 1
			}
		}
		state := "fail"
		if assigned == 16384 {
			state = "ok"
		}
		return fmt.Sprintf("cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_known_nodes:%d\r\ncluster_my_epoch:%d\r\n",
			state, assigned, len(n.known), n.epoch), nil
	case "NODES":
		return r.nodesTable(n), nil
	case "SET-CONFIG-EPOCH":
		if len(n.known) > 1 || n.epoch != 0 {
			return nil, errors.New("ERR the user can assign a config epoch only when the node does not know any other node")
		}
		n.epoch, _ = strconv.Atoi(args[0])
		return "OK", nil
	case "MEET":
		o := r.nodes[net.JoinHostPort(args[0], args[1])]
		if o == nil || !o.running {
			return "OK", nil // the handshake never completes
		}
		if o.known[n.addr] {
			o.heard[n.addr] = n.view()
		}
		n.heard[o.addr] = o.view()
		union := map[string]bool{}
		for a := range n.known {
			union[a] = true
		}
		for a := range o.known {
			union[a] = true
		}
		for a := range union {
			for b := range union {
				r.nodes[a].known[b] = true
			}
		}
		return "OK", nil
	case "ADDSLOTSRANGE":
		lo, _ := strconv.Atoi(args[0])
		hi, _ := strconv.Atoi(args[1])
		for a := range n.known {
			for _, s := range r.nodes[a].slots {
				if lo <= s[1] && s[0] <= hi {
					return nil, fmt.Errorf("ERR Slot %d is already busy", max(lo, s[0]))
				}
			}
		}
		n.slots = append(n.slots, [2]int{lo, hi})
		return "OK", nil
	case "REPLICATE":
		for a := range n.known {
			if r.nodes[a].id == args[0] {
				if len(n.slots) > 0 {
					return nil, errors.New("ERR To set a master the node must be empty and without assigned slots.")
				}
				n.master = a
				return "OK", nil
			}
		}
		return nil, fmt.Errorf("ERR Unknown node %s", args[0])
	}
	return nil, fmt.Errorf("ERR unknown subcommand '%s'", sub)
}

// fakeView is what a cluster node knows of another's slots and role.
type fakeView struct {
	slots  [][2]int
	master string
}

func (n *fakeNode) view() fakeView { return fakeView{slices.Clone(n.slots), n.master} }

// viewOf returns the slots and role n sees the node at addr with.
func (r *fakeRedis) viewOf(n *fakeNode, addr string) fakeView {
	if !r.slowSlots || addr == n.addr {
		return r.nodes[addr].view()
	}
	return n.heard[addr]
}

// nodesTable answers CLUSTER NODES as n sees the cluster.
func (r *fakeRedis) nodesTable(n *fakeNode) string {
	var lines []string
	for a := range n.known {
		o, v := r.nodes[a], r.viewOf(n, a)
		host, port, _ := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		flags := "master"
		master := "-"
		if v.master != "" {
			flags, master = "slave", r.nodes[v.master].id
		}
		if o == n {
			flags = "myself," + flags
		}
		line := fmt.Sprintf("%s %s:%d@%d %s %s 0 0 %d connected", o.id, host, p, p+10000, flags, master, o.epoch)
		for _, s := range v.slots {
			line += fmt.Sprintf(" %d-%d", s[0], s[1])
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}
