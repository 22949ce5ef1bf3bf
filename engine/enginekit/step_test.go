package enginekit

import (
	"context"
	"testing"

	"github.com/dbplane/dbplane"
)

func TestRunner(t *testing.T) {
	k, _ := testStep(t)
	var ran *hostStep
	r := Runner[*hostStep]{Deps: k.Deps, Engine: "db", NewStep: func(s *Step) *hostStep { return &hostStep{Step: s} }}
	fn := func(_ context.Context, s *hostStep) error { ran = s; return nil }
	if err := r.Run(context.Background(), "db.x", fn, 1, StepParams(0), k.Logf); err != nil {
		t.Fatal(err)
	}
	if ran == nil || ran.Kit() != ran.Step || ran.Node.ClusterID != 7 || ran.Cluster.Name != "solo" {
		t.Fatalf("ran on %+v", ran)
	}
	for name, raw := range map[string]string{"BadParams": `{`, "NoNode": `{"ordinal":3}`} {
		if err := r.Run(context.Background(), "db.x", fn, 1, []byte(raw), k.Logf); !dbplane.IsPermanent(err) {
			t.Errorf("%s: %v; want a permanent error", name, err)
		}
	}
	r.Check = func(*dbplane.Cluster) error { return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "no")) }
	if err := r.Run(context.Background(), "db.x", fn, 1, StepParams(0), k.Logf); dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Errorf("rejected cluster: %v", err)
	}
}

func TestSteps(t *testing.T) {
	k, _ := testStep(t)
	var ran string
	own := func(context.Context, *hostStep) error { ran = "own"; return nil }
	st := Steps[*hostStep]{
		Runner: Runner[*hostStep]{Deps: k.Deps, Engine: "db", NewStep: func(s *Step) *hostStep { return &hostStep{Step: s} }},
		Own:    map[string]func(context.Context, *hostStep) error{"db.own": own},
	}
	h := st.Handlers()
	if len(h) != len(hostSteps)+1 || h["db."+StepPrecheck] == nil || len(st.Own) != 1 {
		t.Fatalf("handlers %d (own %d), want the host steps and the engine's own, its table untouched", len(h), len(st.Own))
	}
	if err := st.RunStep(context.Background(), "db.own", 1, StepParams(0), k.Logf); err != nil || ran != "own" {
		t.Errorf("RunStep = %v (ran %q), want the engine's own handler run", err, ran)
	}
	if err := st.RunStep(context.Background(), "db.nope", 1, StepParams(0), k.Logf); err == nil {
		t.Error("RunStep of an unknown handler succeeded")
	}
}
