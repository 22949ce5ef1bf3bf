package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// Log collects the lines steps write to their logs.
type Log struct {
	mu    sync.Mutex
	lines []string
}

// Logf adds a line; it is a step's logf.
func (l *Log) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// All returns the lines so far.
func (l *Log) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// StepRunner runs one step by handler name, as the task engine would.
// Engines export it to their tests.
type StepRunner interface {
	RunStep(ctx context.Context, name string, taskID int64, params json.RawMessage, logf func(string, ...any)) error
}

// RunPlan runs the steps of a plan as the task engine would: each step once
// its upstreams succeeded, independent steps in parallel, retryable errors
// retried. It returns the first error that is permanent or outlives the
// retries, naming the step.
func RunPlan(ctx context.Context, t *testing.T, e StepRunner, taskID int64, steps []dbplane.PlanStep, log *Log) error {
	t.Helper()
	done := map[string]bool{}
	for len(done) < len(steps) {
		var wave []dbplane.PlanStep
		for _, s := range steps {
			if !done[s.Key] && !slices.ContainsFunc(s.After, func(k string) bool { return !done[k] }) {
				wave = append(wave, s)
			}
		}
		if len(wave) == 0 {
			t.Fatalf("the plan has a cycle or an unknown upstream: %d of %d steps ran", len(done), len(steps))
		}
		errs := make([]error, len(wave))
		var wg sync.WaitGroup
		for i, s := range wave {
			wg.Go(func() { errs[i] = RunStep(ctx, e, taskID, s, log) })
		}
		wg.Wait()
		for i, s := range wave {
			if errs[i] != nil {
				return fmt.Errorf("step %q: %w", s.Name, errs[i])
			}
			done[s.Key] = true
		}
	}
	return nil
}

// RunStep runs one step of a plan within its timeout, retrying a retryable
// error twice.
func RunStep(ctx context.Context, e StepRunner, taskID int64, s dbplane.PlanStep, log *Log) error {
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, s.Timeout)
		err := e.RunStep(sctx, s.Handler, taskID, s.Params, log.Logf)
		cancel()
		if err == nil || dbplane.IsPermanent(err) || attempt == 3 {
			return err
		}
		log.Logf("retrying %s after: %v", s.Name, err)
		time.Sleep(500 * time.Millisecond)
	}
}

// UndoPlan runs the undo handlers of steps in reverse order, as a rollback
// would.
func UndoPlan(ctx context.Context, e StepRunner, taskID int64, steps []dbplane.PlanStep, log *Log) error {
	for _, s := range slices.Backward(steps) {
		if s.Undo == "" {
			continue
		}
		if err := e.RunStep(ctx, s.Undo, taskID, s.Params, log.Logf); err != nil {
			return fmt.Errorf("undo of %q: %w", s.Name, err)
		}
	}
	return nil
}
