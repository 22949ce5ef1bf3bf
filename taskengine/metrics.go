package taskengine

import (
	"time"

	"github.com/dbplane/dbplane"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	subtaskRuns = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dbplane_subtask_run_duration_seconds",
		Help:    "Duration of subtask handler runs, by outcome (successful, retrying, failed, canceled).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"outcome"})
	taskDurations = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dbplane_task_duration_seconds",
		Help:    "Time from creation to end of tasks, by status and operation.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
	}, []string{"status", "operation"})
)

func observeSubtask(s *dbplane.Subtask, out dbplane.Outcome, elapsed time.Duration) {
	outcome := "successful"
	switch {
	case out.Err == nil:
	case out.Canceled:
		outcome = "canceled"
	case out.Permanent || s.Attempts >= s.MaxAttempts:
		outcome = "failed"
	default:
		outcome = "retrying"
	}
	subtaskRuns.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// ObserveTaskEnd records a task that ended in the task metrics. The wiring
// hangs it on the store's end-of-task hook, so every ended task is counted
// once, whatever ended it.
func ObserveTaskEnd(t *dbplane.Task) {
	if t.FinishedAt == nil {
		return
	}
	taskDurations.WithLabelValues(string(t.Status), string(t.Operation)).Observe(t.FinishedAt.Sub(t.CreatedAt).Seconds())
}
