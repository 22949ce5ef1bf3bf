package enginetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// PrecheckCase is a state of node 0 and its host, and what the host's
// precheck makes of it.
type PrecheckCase struct {
	Name     string
	Topology string                // of the cluster; "" for the test's own
	Node     func(n *dbplane.Node) // changes node 0, if set
	SS       string                // what ss lists
	Running  bool                  // node 0's instance runs
	DiskGB   int64                 // free on the host, if set
	Kind     dbplane.Kind          // 0: the precheck passes
	Says     string                // what the error says, if set
}

// ListenerCases are the cases every engine's node at addr:port meets: the
// port free (others taken), taken on the node's address, on every IPv4 or
// every IPv6 address, or by the node itself; and a disk too small.
func ListenerCases(addr string, port int) []PrecheckCase {
	listen := func(host string, port int) string { return fmt.Sprintf("LISTEN 0 128 %s:%d 0.0.0.0:*\n", host, port) }
	return []PrecheckCase{
		{Name: "Free", SS: listen("10.0.0.9", port) + listen(addr, port+1)},
		{Name: "TakenOnTheAddress", SS: listen(addr, port), Kind: dbplane.KindConflict, Says: fmt.Sprintf("port %d", port)},
		{Name: "TakenOnAllAddresses", SS: listen("*", port), Kind: dbplane.KindConflict, Says: fmt.Sprintf("port %d", port)},
		{Name: "TakenOnIPv6Wildcard", SS: listen("[::]", port), Kind: dbplane.KindConflict, Says: fmt.Sprintf("port %d", port)},
		{Name: "TakenByTheNodeItself", SS: listen(addr, port), Running: true},
		{Name: "DiskTooSmall", DiskGB: 5, Kind: dbplane.KindUnplaceable},
	}
}

// Prechecked is what CheckPrecheck runs a case on: an engine over fakes,
// its cluster and the agent of node 0's host.
type Prechecked struct {
	Engine  StepRunner
	Cluster *dbplane.Cluster
	Agent   *Agent
}

// CheckPrecheck runs handler, the host precheck, on node 0 of task 1 in
// each case, on what fixture builds for it; instance is the id of node 0's
// instance.
func CheckPrecheck(t *testing.T, handler, instance string, cases []PrecheckCase, fixture func(tc PrecheckCase) Prechecked) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			f := fixture(tc)
			if tc.Node != nil {
				tc.Node(&f.Cluster.Nodes[0])
			}
			f.Agent.SS = tc.SS
			if tc.DiskGB != 0 {
				f.Agent.DiskGB = tc.DiskGB
			}
			if tc.Running {
				f.Agent.Running[instance] = true
			}
			err := f.Engine.RunStep(context.Background(), handler, 1, Params(0), (&Log{}).Logf)
			switch {
			case tc.Kind == 0 && err != nil:
				t.Fatalf("precheck: %v", err)
			case tc.Kind != 0 && (!dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != tc.Kind || !strings.Contains(err.Error(), tc.Says)):
				t.Fatalf("precheck: %v; want a permanent %s error about %q", err, tc.Kind, tc.Says)
			}
		})
	}
}

// CA is what the checks of TLS need of a certificate authority.
type CA interface {
	Pool() *x509.CertPool
	CertPEM() []byte
}

// TLSFiles names the files of a node's certificate, key and CA
// certificate in its home, and their owner.
type TLSFiles struct {
	Cert, Key, CA, Owner string
	Home                 func(n dbplane.Node) string // the kit's Home
}

// CheckTLSFiles fails t unless every node has in its home a key that
// matches a certificate of ca for the node's address, and ca's
// certificate, each written 0600 and owned by files.Owner.
func CheckTLSFiles(t *testing.T, ca CA, files TLSFiles, nodes []dbplane.Node, agents map[int64]*Agent) {
	t.Helper()
	for _, n := range nodes {
		a := agents[n.HostID]
		home := files.Home(n)
		pair, err := tls.X509KeyPair([]byte(a.File(t, home+"/"+files.Cert)), []byte(a.File(t, home+"/"+files.Key)))
		if err != nil {
			t.Fatalf("node %d: %v", n.Ordinal, err)
		}
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: n.Address}); err != nil {
			t.Errorf("node %d: the certificate does not verify for %s: %v", n.Ordinal, n.Address, err)
		}
		if got := a.File(t, home+"/"+files.CA); got != string(ca.CertPEM()) {
			t.Errorf("node %d: %s is not the CA certificate", n.Ordinal, files.CA)
		}
		for _, f := range []string{files.Cert, files.Key, files.CA} {
			if want := "WriteFile " + home + "/" + f + " " + files.Owner + " 600"; !slices.Contains(a.Calls, want) {
				t.Errorf("node %d: no call %q", n.Ordinal, want)
			}
		}
	}
}

// CheckTLSNeedsCA fails t unless handler, the TLS step, run on node 0 of
// task 1, a node of a cluster with SSL on, refuses for good to go without
// a CA.
func CheckTLSNeedsCA(t *testing.T, e StepRunner, handler string) {
	t.Helper()
	err := e.RunStep(context.Background(), handler, 1, Params(0), (&Log{}).Logf)
	if !dbplane.IsPermanent(err) {
		t.Errorf("SSL without a CA: %v, want a permanent error", err)
	}
}
