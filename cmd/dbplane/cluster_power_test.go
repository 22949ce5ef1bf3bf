package main

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// TestClusterPower: `cluster stop|start|restart ID` start the task of
// their kind on that cluster and print it; --dry-run passes on and prints
// the plan; --dry-run with --wait is a usage error.
func TestClusterPower(t *testing.T) {
	for _, verb := range []string{"stop", "start", "restart"} {
		t.Run(verb, func(t *testing.T) {
			var got []string
			f := &fakeAPI{PowerClusterFn: func(kind string, id int64, dryRun bool) (*dbplane.Task, error) {
				task := createTask(dbplane.TaskRunning, dbplane.SubtaskReady)
				task.ID, task.Name, task.Kind = 36, verb+" cluster orders", kind
				if dryRun {
					task.ID = 0
				}
				got = append(got, kind)
				if id != 12 {
					t.Errorf("%s of cluster %d, want 12", kind, id)
				}
				return task, nil
			}}
			r := runCLI(t, f, nil, "", "cluster", verb, "12")
			r.check(t, exitOK)
			if want := "task 36 \"" + verb + " cluster orders\" RUNNING\n"; r.stdout != want {
				t.Errorf("stdout = %q, want %q", r.stdout, want)
			}
			r = runCLI(t, f, nil, "", "cluster", verb, "12", "--dry-run")
			r.check(t, exitOK)
			if !strings.Contains(r.stdout, "Place nodes") {
				t.Errorf("dry run stdout = %q, want the planned steps", r.stdout)
			}
			r = runCLI(t, f, nil, "", "cluster", verb, "12", "--dry-run", "--wait")
			r.check(t, exitUsage)
			if want := []string{"cluster." + verb, "cluster." + verb}; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("calls %v, want %v", got, want)
			}
		})
	}
}
