package taskengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

// Run is one execution of a subtask, handed to its handler.
type Run struct {
	Subtask *dbplane.Subtask
	store   dbplane.TaskStore
	log     *slog.Logger

	mu      sync.Mutex // handlers may log from several goroutines
	secrets []string   // redacted from the log and the outcome
}

// Redact registers secrets the handler holds (a cluster's password, say),
// so that they are replaced by dbplane.Redacted in the subtask's log and in
// its error, wherever a command line or a driver's message quotes them.
func (r *Run) Redact(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
}

type runCtxKey struct{}

// Redact registers secrets with the run of ctx, as Run.Redact does, for
// code that the handler calls with its context but not its Run. Outside a
// run it does nothing.
func Redact(ctx context.Context, secrets ...string) {
	if r, ok := ctx.Value(runCtxKey{}).(*Run); ok {
		r.Redact(secrets...)
	}
}

// redact replaces the registered secrets in s.
func (r *Run) redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, dbplane.Redacted)
	}
	return s
}

// redactedError is a handler's error whose message has had the run's
// secrets replaced; Unwrap keeps the original for kinds and permanence.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Params decodes the subtask's JSON parameters into v.
func (r *Run) Params(v any) error {
	if err := json.Unmarshal(r.Subtask.Params, v); err != nil {
		return dbplane.Permanent(fmt.Errorf("while decoding the parameters of subtask %d: %w", r.Subtask.ID, err))
	}
	return nil
}

// Logf appends a line to the subtask's log, which users read with
// `dbplane task log`. A log that cannot be written does not fail the run.
func (r *Run) Logf(ctx context.Context, format string, args ...any) {
	line := r.redact(fmt.Sprintf(format, args...))
	if err := r.store.AppendSubtaskLog(context.WithoutCancel(ctx), r.Subtask.ID, line); err != nil {
		r.log.Warn("writing the subtask log failed", "err", err)
	}
}

// runKey names one run of a subtask: a stalled run and a later claim of the
// same subtask by this engine can overlap, and each keeps its own cancel.
type runKey struct {
	id  int64
	run int
}

// execute runs one claimed subtask and records its outcome.
func (e *Engine) execute(workCtx context.Context, s *dbplane.Subtask) {
	log := e.log.With("task", s.TaskID, "subtask", s.ID, "name", s.Name, "attempt", s.Attempts)
	ctx, cancel := context.WithCancelCause(workCtx)
	e.mu.Lock()
	key := runKey{s.ID, s.RunCount}
	e.running[key] = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, key)
		e.mu.Unlock()
		cancel(nil)
	}()

	start := e.cfg.Now()
	err := e.invoke(ctx, s, log)
	elapsed := e.cfg.Now().Sub(start)
	if errors.Is(context.Cause(ctx), errShutdown) {
		// The engine stops; the lease is released and the subtask runs
		// again elsewhere. Nothing to record.
		log.Info("subtask interrupted by shutdown")
		return
	}
	out := dbplane.Outcome{Run: s.RunCount, Err: err}
	if err != nil {
		out.Permanent = dbplane.IsPermanent(err)
		out.Canceled = errors.Is(context.Cause(ctx), errUserCancel)
		out.RetryAt = e.cfg.Now().Add(e.cfg.Backoff(s.Attempts))
		if d, ok := retryDelay(err); ok {
			out.RetryAt = e.cfg.Now().Add(d)
		}
	}
	observeSubtask(s, out, elapsed)
	ended, ferr := e.finish(workCtx, s, out)
	switch {
	case ferr != nil:
		log.Error("recording the subtask outcome failed; the lease will expire and it runs again", "err", ferr)
	case err != nil:
		log.Warn("subtask run failed", "err", err, "permanent", out.Permanent, "canceled", out.Canceled)
	default:
		log.Debug("subtask succeeded", "elapsed", elapsed)
	}
	if ended != nil {
		log.Info("task ended", "status", ended.Status, "operation", ended.Operation)
	}
}

// invoke calls the subtask's handler under its timeout, turning a panic into
// a permanent error: a handler bug will not heal by itself.
func (e *Engine) invoke(ctx context.Context, s *dbplane.Subtask, log *slog.Logger) (err error) {
	h, ok := e.handlers[s.RunHandler()]
	if !ok {
		return dbplane.Permanent(fmt.Errorf("no handler named %q is registered", s.RunHandler()))
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	run := &Run{Subtask: s, store: e.store, log: log}
	// Deferred first, so it runs last: a panic's error is redacted too.
	defer func() {
		if err != nil {
			if msg := run.redact(err.Error()); msg != err.Error() {
				err = &redactedError{msg: msg, err: err}
			}
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			log.Error("subtask handler panicked", "panic", run.redact(fmt.Sprint(p)), "stack", string(debug.Stack()))
			err = dbplane.Permanent(fmt.Errorf("handler %q panicked: %v", s.RunHandler(), p))
		}
	}()
	err = h(context.WithValue(ctx, runCtxKey{}, run), run)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %s: %w", s.Timeout, err)
	}
	return err
}

// finish records an outcome, retrying briefly when the store is unavailable.
// A lost lease (KindConflict) is final: another executor owns the subtask.
func (e *Engine) finish(ctx context.Context, s *dbplane.Subtask, out dbplane.Outcome) (*dbplane.Task, error) {
	var err error
	for i := range 5 {
		var ended *dbplane.Task
		ended, err = e.store.FinishSubtask(ctx, e.cfg.Executor, s.ID, out)
		if err == nil || dbplane.ErrorKind(err) == dbplane.KindConflict {
			return ended, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(100<<i) * time.Millisecond):
		}
	}
	return nil, err
}
