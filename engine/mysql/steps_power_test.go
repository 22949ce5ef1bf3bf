package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/mysql"
)

const stateUUID = "b0c5a1e4-0000-0000-0000-000000000001"

// grastate is the grastate.dat of a stopped member.
func grastate(seqno int, safe bool) []byte {
	s := 0
	if safe {
		s = 1
	}
	return fmt.Appendf(nil, "# GALERA saved state\nversion: 2.1\nuuid:    %s\nseqno:   %d\nsafe_to_bootstrap: %d\n", stateUUID, seqno, s)
}

// TestBootstrapRecovered: a stopped galera cluster is bootstrapped from
// the member marked safe to bootstrap, else from the highest seqno
// (recovered with --wsrep-recover when the member did not stop cleanly),
// and running the step again starts nothing more.
func TestBootstrapRecovered(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, states ...[]byte) (*mysql.Engine, *dbplane.Cluster, map[int64]*fakeAgent) {
		c := newCluster("gal3", dbplane.TopologyGalera, "", 3)
		e, agents := fakeEngine(c, password)
		for i, n := range c.Nodes {
			agents[n.HostID].Files[n.DataDir+"/grastate.dat"] = states[i]
		}
		return e, c, agents
	}
	started := func(agents map[int64]*fakeAgent) map[int64]string {
		out := map[int64]string{}
		for h, a := range agents {
			for id := range a.Running {
				inst := a.Instances[id]
				out[h] = id + " " + strings.Join(inst.Argv[1:], " ")
			}
		}
		return out
	}
	t.Run("SafeToBootstrap", func(t *testing.T) {
		e, _, agents := setup(t, grastate(40, false), grastate(43, false), grastate(42, true))
		log := &stepLog{}
		if err := e.RunStep(ctx, mysql.HandlerBootstrapRecovered, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
			t.Fatal(err)
		}
		got := started(agents)
		if len(got) != 1 || !strings.HasSuffix(got[3], "--wsrep-new-cluster") {
			t.Fatalf("started %v; want member 2 alone, bootstrapped", got)
		}
		if len(agents[3].Commands("sed")) != 0 || len(agents[3].Commands("mariadbd")) != 0 {
			t.Error("a member safe to bootstrap from was edited or recovered")
		}
		t.Run("AgainStartsNothing", func(t *testing.T) {
			if err := e.RunStep(ctx, mysql.HandlerBootstrapRecovered, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
				t.Fatal(err)
			}
			if again := started(agents); len(again) != 1 || again[3] != got[3] {
				t.Fatalf("started %v on the second run; want only member 2 still", again)
			}
			var starts int
			for _, a := range agents {
				starts += len(slices.DeleteFunc(slices.Clone(a.Calls), func(c string) bool { return !strings.HasPrefix(c, "StartInstance") }))
			}
			if starts != 1 {
				t.Fatalf("%d StartInstance calls in two runs; want 1", starts)
			}
		})
	})
	t.Run("HighestRecoveredSeqno", func(t *testing.T) {
		e, c, agents := setup(t, grastate(40, false), grastate(-1, false), grastate(41, false))
		agents[2].recovered = "2026-11-22 13:00:01 0 [Note] WSREP: Recovered position: " + stateUUID + ":45\n"
		if err := e.RunStep(ctx, mysql.HandlerBootstrapRecovered, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf); err != nil {
			t.Fatal(err)
		}
		got := started(agents)
		if len(got) != 1 || !strings.Contains(got[2], "--wsrep-new-cluster --wsrep-start-position="+stateUUID+":45") {
			t.Fatalf("started %v; want member 1 bootstrapped at its recovered position", got)
		}
		if st := string(agents[2].Files[c.Nodes[1].DataDir+"/grastate.dat"]); !strings.Contains(st, "safe_to_bootstrap: 1") {
			t.Fatalf("grastate.dat of member 1:\n%s\nwant it marked safe to bootstrap", st)
		}
	})
	t.Run("DifferentStatesRefused", func(t *testing.T) {
		other := []byte("uuid: c0c5a1e4-0000-0000-0000-000000000009\nseqno: 50\nsafe_to_bootstrap: 0\n")
		e, _, agents := setup(t, grastate(40, false), other, grastate(41, false))
		err := e.RunStep(ctx, mysql.HandlerBootstrapRecovered, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
		if !dbplane.IsPermanent(err) || len(started(agents)) != 0 {
			t.Fatalf("err %v, started %v; want a permanent error and nothing started", err, started(agents))
		}
	})
}

// TestStartMember: a stopped member starts as an ordinary member; one that
// runs (the bootstrapped one) is left alone.
func TestStartMember(t *testing.T) {
	ctx := context.Background()
	c := newCluster("gal3", dbplane.TopologyGalera, "", 3)
	e, agents := fakeEngine(c, password)
	if err := e.RunStep(ctx, mysql.HandlerStartMember, 1, []byte(`{"ordinal":1}`), (&stepLog{}).Logf); err != nil {
		t.Fatal(err)
	}
	if argv := agents[2].Spec("my-7-1").Argv; len(argv) == 0 || slices.Contains(argv, "--wsrep-new-cluster") {
		t.Fatalf("member 1 runs %v; want it started without the bootstrap flag", argv)
	}
	agents[1].Running["my-7-0"] = true
	agents[1].Instances["my-7-0"] = dbplane.Instance{ID: "my-7-0", Argv: []string{"mariadbd", "--wsrep-new-cluster"}}
	if err := e.RunStep(ctx, mysql.HandlerStartMember, 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf); err != nil {
		t.Fatal(err)
	}
	if argv := agents[1].Spec("my-7-0").Argv; !slices.Contains(argv, "--wsrep-new-cluster") {
		t.Fatalf("member 0 runs %v; want the bootstrapped process left alone", argv)
	}
}
