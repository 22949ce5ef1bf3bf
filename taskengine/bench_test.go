package taskengine_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/taskengine"
)

// endSignal passes the store through to the engine and reports every task
// that a finished subtask ended, so that the benchmark learns the end of a
// run without polling the store it measures.
type endSignal struct {
	dbplane.TaskStore
	ended chan int64
}

func (s *endSignal) FinishSubtask(ctx context.Context, executor string, id int64, out dbplane.Outcome) (*dbplane.Task, error) {
	t, err := s.TaskStore.FinishSubtask(ctx, executor, id, out)
	if t != nil {
		s.ended <- t.ID
	}
	return t, err
}

// BenchmarkNoopSubtasks measures what the engine costs per subtask, with
// handlers that do nothing, on every dialect and two DAG shapes:
//
//   - parallel: tasks of 100 independent subtasks, all READY at once, on
//     16 workers: the throughput of a saturated engine;
//   - chain: one task whose subtasks form a single chain, so that each
//     waits for the previous one's outcome to be recorded: the latency the
//     engine adds between two dependent steps.
//
// One op is one subtask. Metrics: subtasks/s; engine-µs/subtask, the wall
// time per subtask (for chain: the latency of one step); cpu-µs/subtask,
// this process's CPU time per subtask (on SQLite that includes the
// database's work; on PostgreSQL the server's CPU is not counted).
func BenchmarkNoopSubtasks(b *testing.B) {
	for _, d := range testdb.Dialects() {
		b.Run(d.Name, func(b *testing.B) {
			b.Run("parallel", func(b *testing.B) { benchNoop(b, d.DSN(b), parallelPlans) })
			b.Run("chain", func(b *testing.B) { benchNoop(b, d.DSN(b), chainPlan) })
		})
	}
}

// parallelPlans spreads n subtasks over tasks of at most 100 independent
// subtasks.
func parallelPlans(n int) [][]dbplane.PlanStep {
	var plans [][]dbplane.PlanStep
	for n > 0 {
		size := min(n, 100)
		steps := make([]dbplane.PlanStep, size)
		for i := range steps {
			steps[i] = step(fmt.Sprintf("s%d", i), "noop")
		}
		plans = append(plans, steps)
		n -= size
	}
	return plans
}

// chainPlan puts n subtasks in one chain.
func chainPlan(n int) [][]dbplane.PlanStep {
	steps := make([]dbplane.PlanStep, n)
	for i := range steps {
		steps[i] = step(fmt.Sprintf("s%d", i), "noop")
		if i > 0 {
			steps[i].After = []string{steps[i-1].Key}
		}
	}
	return [][]dbplane.PlanStep{steps}
}

func benchNoop(b *testing.B, dsn string, plans func(n int) [][]dbplane.PlanStep) {
	ctx := context.Background()
	db := mustOpen(b, dsn)
	tasks := plans(b.N)
	for _, steps := range tasks {
		mustCreate(b, db, 0, steps...)
	}
	store := &endSignal{TaskStore: db, ended: make(chan int64, len(tasks))}
	e := taskengine.New(store, taskengine.Config{
		Executor: "bench",
		Workers:  16,
		Lease:    time.Minute,
		Poll:     time.Second, // work arrives by Notify; polling would only add noise
		Logger:   discardLogger(),
	})
	e.Register("noop", func(context.Context, *taskengine.Run) error { return nil })

	cpu0 := cpuTime()
	b.ResetTimer()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	for range tasks {
		select {
		case <-store.ended:
		case <-time.After(time.Minute):
			b.Fatal("no task ended for a minute")
		}
	}
	b.StopTimer()
	elapsed := b.Elapsed()
	cpu := cpuTime() - cpu0
	stop()
	if err := <-done; err != nil {
		b.Fatalf("Run: %v", err)
	}

	failed := dbplane.TaskFailed
	if _, n, err := db.FindTasks(ctx, dbplane.TaskFilter{Status: &failed}); err != nil || n != 0 {
		b.Fatalf("%d tasks FAILED (%v)", n, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "subtasks/s")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N), "engine-µs/subtask")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/subtask")
	b.ReportMetric(0, "ns/op") // the same as engine-µs/subtask, in less readable units
}

// cpuTime returns the CPU time, user and system, this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
