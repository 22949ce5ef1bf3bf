package enginekit_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

var hostPlan = enginekit.HostPlan{Engine: "db", Product: "DB", User: "dbuser",
	Key:   func(n dbplane.Node, name string) string { return fmt.Sprintf("db-%s-%d", name, n.Ordinal) },
	Ports: func(n dbplane.Node) string { return fmt.Sprintf("port %d", n.Port) }}

func TestHostPlanPrepare(t *testing.T) {
	n := dbplane.Node{Ordinal: 1, HostID: 4, Address: "10.0.0.4", Port: 7000, DataDir: "/data/n1"}
	c := &dbplane.Cluster{Version: "9", Spec: dbplane.ClusterSpec{VolumeGB: 20}, Nodes: []dbplane.Node{n}}
	steps, last := hostPlan.Prepare(c, n)
	want := []string{"db-precheck-1[]", "db-install-1[db-precheck-1]", "db-prepare-1[db-install-1]"}
	if got := order(steps); !slices.Equal(got, want) || last != "db-prepare-1" {
		t.Errorf("steps = %v, last %q; want %v, last db-prepare-1", got, last, want)
	}
	if h := steps[0].Handler; h != "db."+enginekit.StepPrecheck {
		t.Errorf("precheck handler = %q, want the kit's name", h)
	}
	if steps[2].Undo != enginekit.Handler("db", enginekit.StepRemove) {
		t.Errorf("prepare undo = %q, want the node removed on rollback", steps[2].Undo)
	}
	for _, s := range []string{"port 7000", "20 GB"} {
		if !strings.Contains(steps[0].Description, s) {
			t.Errorf("precheck says %q, want it to name %s", steps[0].Description, s)
		}
	}
	c.Spec.SSL = true
	steps, last = hostPlan.Prepare(c, n)
	if got := order(steps); len(got) != 4 || got[3] != "db-tls-1[db-prepare-1]" || last != "db-tls-1" {
		t.Errorf("with SSL: steps = %v, last %q; want the certificate written after the directories", got, last)
	}
}

func TestHostPlanRemove(t *testing.T) {
	steps := hostPlan.Remove([]dbplane.Node{{Ordinal: 0}, {Ordinal: 1}})
	if got := order(steps); !slices.Equal(got, []string{"db-remove-0[]", "db-remove-1[]"}) || steps[1].Handler != "db.remove_node" {
		t.Errorf("steps = %v (handler %q), want every node removed in parallel", got, steps[1].Handler)
	}
}
