package dbplane_test

import (
	"testing"

	"github.com/dbplane/dbplane"
)

// TestClusterOutcome_Power: stop, start and restart hold their
// transitional status while they run and after a retry, end stopped or
// running, and leave a cluster they failed abnormal.
func TestClusterOutcome_Power(t *testing.T) {
	tests := []struct {
		kind                    string
		running, success, fails dbplane.ClusterStatus
	}{
		{dbplane.TaskKindClusterStop, dbplane.ClusterStopping, dbplane.ClusterStopped, dbplane.ClusterAbnormal},
		{dbplane.TaskKindClusterStart, dbplane.ClusterStarting, dbplane.ClusterRunning, dbplane.ClusterAbnormal},
		{dbplane.TaskKindClusterRestart, dbplane.ClusterRestarting, dbplane.ClusterRunning, dbplane.ClusterAbnormal},
	}
	for _, tt := range tests {
		for status, want := range map[dbplane.TaskStatus]dbplane.ClusterStatus{
			dbplane.TaskRunning: tt.running, dbplane.TaskSuccessful: tt.success, dbplane.TaskFailed: tt.fails,
		} {
			for _, op := range []dbplane.Operation{dbplane.OpExecute, dbplane.OpRetry} {
				next, remove, ok := dbplane.ClusterOutcome(tt.kind, status, op)
				if !ok || remove || next != want {
					t.Errorf("%s %s (%s): %q remove %v ok %v; want %q", tt.kind, status, op, next, remove, ok, want)
				}
			}
		}
	}
}
