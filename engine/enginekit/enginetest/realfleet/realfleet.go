// Package realfleet is the harness of the engines' integration tests: real
// hosts, each an in-process agent (package agent) on its own loopback
// address, 127.0.0.11 for host 1 and so on, with its own data root under
// one directory that the databases' OS users can traverse. It skips where
// the database is not installed, places a cluster's nodes on the hosts,
// finds free ports, runs the create plan, and checks that a removed
// cluster left no file, process or listener behind. It lives apart from
// enginetest, which the unit tests import, because it needs the agent.
package realfleet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// Database describes an engine's database to the fleet.
type Database struct {
	// Name names the database in messages: "PostgreSQL".
	Name string
	// User is the OS user the database runs as.
	User string
	// Packages names what Needs comes from, in the message of a skip.
	Packages string
	// Needs lists the programs and libraries the tests run.
	Needs []string
	// Dir holds the nodes under a host's data root: <Dir>/<cluster>-<ordinal>.
	Dir string
	// Instance prefixes the agents' instance ids of the nodes:
	// <Instance>-<cluster id>-<ordinal>. It names the fleet's directory too.
	Instance string
	// Runs tells whether a process whose command line (its arguments
	// joined by spaces) is cmdline belongs to node n.
	Runs func(n dbplane.Node, cmdline string) bool
}

// Skip skips t in short mode, when it does not run as root (which the
// agent needs to run the database as its user), and when a path of Needs
// is missing.
func (d *Database) Skip(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skipf("starts real %s clusters", d.Name)
	}
	if !isRoot() {
		t.Skipf("needs root to run %s as the %s user", d.Name, d.User)
	}
	if p, ok := missing(d.Needs); ok {
		t.Skipf("%s is not installed (%s is missing)", d.Packages, p)
	}
}

// Fleet is a set of hosts, numbered from 1, each an agent on the address
// Addr gives it.
type Fleet struct {
	// Dialer hands out the hosts' agents by host id, as Deps.Dialer.
	Dialer enginetest.Dialer
	db     *Database
	root   string
	agents map[int64]*agent.Host
}

// New starts the agents of hosts hosts for db's nodes, closed when t ends.
func New(t *testing.T, db *Database, hosts int) *Fleet {
	t.Helper()
	f := &Fleet{Dialer: enginetest.Dialer{}, db: db, root: tempDir(t, db.Instance+"engine-"), agents: map[int64]*agent.Host{}}
	for i := range hosts {
		id := int64(i + 1)
		dataRoot := f.dataRoot(id)
		a, err := agent.NewHost(agent.HostConfig{DataRoot: dataRoot, StateDir: dataRoot + "-state", Address: Addr(id)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		f.agents[id], f.Dialer[id] = a, a
	}
	return f
}

// Addr returns the address of host hostID: 127.0.0.11 for host 1.
func Addr(hostID int64) string { return fmt.Sprintf("127.0.0.%d", 10+hostID) }

func (f *Fleet) dataRoot(hostID int64) string {
	return filepath.Join(f.root, fmt.Sprintf("h%d", hostID))
}

// Place puts the nodes of c on the hosts their HostID names: it sets their
// cluster, address and data directory, and stops their instances when t
// ends (supervised processes outlive their agent by design: this stops
// what a failed test left running).
func (f *Fleet) Place(t *testing.T, c *dbplane.Cluster) {
	t.Helper()
	for i := range c.Nodes {
		n := &c.Nodes[i]
		a, ok := f.agents[n.HostID]
		if !ok {
			t.Fatalf("node %d is on host %d, which the fleet does not have", n.Ordinal, n.HostID)
		}
		n.ClusterID, n.Address = c.ID, Addr(n.HostID)
		n.DataDir = filepath.Join(f.dataRoot(n.HostID), f.db.Dir, fmt.Sprintf("%s-%d", c.Name, n.Ordinal))
		instance := fmt.Sprintf("%s-%d-%d", f.db.Instance, c.ID, n.Ordinal)
		t.Cleanup(func() { a.StopInstance(context.Background(), instance) })
	}
}
