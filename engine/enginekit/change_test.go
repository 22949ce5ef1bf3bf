package enginekit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

func TestNames(t *testing.T) {
	if got := enginekit.Names(map[string]string{"b": "1", "a": ""}); got != "a, b" {
		t.Errorf("Names = %q, want the sorted names", got)
	}
}

// planStep plans a step named for what it does on node n.
func planStep(what string) func(n dbplane.Node, after ...string) dbplane.PlanStep {
	return func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return enginekit.NewStep(fmt.Sprintf("%s-%d", what, n.Ordinal), what, "h."+what, n.Ordinal, time.Minute, "", after...)
	}
}

// order lists the keys of steps with the keys each waits for.
func order(steps []dbplane.PlanStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, fmt.Sprintf("%s%v", s.Key, s.After))
	}
	return out
}

func TestSetThenVerify(t *testing.T) {
	nodes := []dbplane.Node{{Ordinal: 0}, {Ordinal: 1}, {Ordinal: 2}}
	set := planStep("set")(nodes[1])
	steps := enginekit.SetThenVerify(set, nodes, nodes[1], func(n dbplane.Node, after string) dbplane.PlanStep {
		return planStep("verify")(n, after)
	})
	want := []string{"set-1[]", "verify-0[set-1]", "verify-2[set-1]"}
	if got := order(steps); !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v: every other node checked after the set", got, want)
	}
}

func TestApplyInTurn(t *testing.T) {
	change := map[string]string{"work_mem": "8MB"}
	nodes := []dbplane.Node{{Ordinal: 2}, {Ordinal: 0}}
	steps := enginekit.ApplyInTurn(nodes, change, planStep("conf"), planStep("apply"))
	want := []string{"conf-2[]", "apply-2[conf-2]", "conf-0[apply-2]", "apply-0[conf-0]"}
	if got := order(steps); !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v: one node at a time, in the order given", got, want)
	}
	for _, s := range steps {
		var p enginekit.Params
		if err := json.Unmarshal(s.Params, &p); err != nil || (p.Parameters["work_mem"] == "8MB") != (s.Name == "apply") {
			t.Errorf("step %s params = %s (%v): only apply steps carry the change", s.Key, s.Params, err)
		}
	}
}

func TestCheckEach(t *testing.T) {
	change := map[string]string{"b": "bad", "a": "ok", "c": "worse"}
	var seen []string
	err := enginekit.CheckEach(change, func(k, v string) (string, error) {
		seen = append(seen, k)
		if v == "ok" {
			return "", nil
		}
		return enginekit.Refuses("PostgreSQL", errors.New("invalid value "+v)), nil
	})
	var fields []string
	for _, f := range dbplane.ErrorFields(err) {
		fields = append(fields, f.Field+": "+f.Message)
	}
	want := []string{"parameters[b]: PostgreSQL refuses the value: invalid value bad", "parameters[c]: PostgreSQL refuses the value: invalid value worse"}
	if !dbplane.IsPermanent(err) || !slices.Equal(fields, want) || !slices.Equal(seen, []string{"a", "b", "c"}) {
		t.Errorf("err = %v (fields %v, checked %v), want a permanent error naming b and c, checked in order", err, fields, seen)
	}
	if err := enginekit.CheckEach(change, func(string, string) (string, error) { return "", nil }); err != nil {
		t.Errorf("err = %v, want none when every parameter passes", err)
	}
	down := errors.New("connection refused")
	if err := enginekit.CheckEach(change, func(string, string) (string, error) { return "", down }); !errors.Is(err, down) || dbplane.IsPermanent(err) {
		t.Errorf("err = %v, want the check's own failure, to retry", err)
	}
}

func TestPasswords(t *testing.T) {
	ctx := context.Background()
	s, _ := stepOnHost(enginetest.NewAgent(1))
	store := &enginetest.Store{TaskID: 3, Cluster: s.Cluster, Password: "old-secret", NewPW: "new-secret"}
	s.Deps.Store, s.TaskID = store, 3
	if pw, err := s.AdminPassword(ctx); pw != "old-secret" || err != nil {
		t.Errorf("AdminPassword = %q, %v", pw, err)
	}
	if pw, err := s.NewPassword(ctx); pw != "new-secret" || err != nil {
		t.Errorf("NewPassword = %q, %v", pw, err)
	}
	store.Password = ""
	if _, err := s.AdminPassword(ctx); !dbplane.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent error for a cluster without a password", err)
	}
	a, err1 := enginekit.NewSecret(ctx)
	b, err2 := enginekit.NewSecret(ctx)
	if err1 != nil || err2 != nil || len(a) != 32 || a == b {
		t.Errorf("NewSecret = %q, %q (%v, %v), want two different 32-character secrets", a, b, err1, err2)
	}
}

func TestScreen(t *testing.T) {
	params := map[string]string{"port": "1", "work_mem": "8MB", "x": "a\nb"}
	err := enginekit.Screen(params, func(k, v string) string {
		switch {
		case k == "port":
			return "is set by dbplane"
		case enginekit.HasControl(v):
			return "a value may not hold control characters"
		}
		return ""
	})
	var fields []string
	for _, f := range dbplane.ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	if !dbplane.IsPermanent(err) || !slices.Equal(fields, []string{"parameters[port]", "parameters[x]"}) {
		t.Errorf("err = %v (fields %v), want port and x refused", err, fields)
	}
	for v, want := range map[string]bool{"8MB": false, "a\tb": true, "\x7f": true, "é": false} {
		if enginekit.HasControl(v) != want {
			t.Errorf("HasControl(%q) = %v, want %v", v, !want, want)
		}
	}
}
