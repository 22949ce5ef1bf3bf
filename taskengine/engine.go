// Package taskengine runs task DAGs durably. It claims READY subtasks from
// the store with a lease, runs their handlers on a bounded worker pool,
// renews the leases while they run and records each outcome. All state lives
// in the store, so a killed engine loses nothing: its leases expire and
// another engine (or the restarted one) runs the subtasks again. Handlers are
// therefore idempotent.
package taskengine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

// Handler performs one subtask. It must be idempotent: running it twice has
// the effect of running it once. It should return promptly when ctx ends.
// Errors are retried with backoff unless marked with dbplane.Permanent.
type Handler func(ctx context.Context, run *Run) error

// Config tunes an Engine. Zero values take the defaults.
type Config struct {
	Executor string        // unique id of this engine; default host-pid-random
	Workers  int           // concurrent subtasks; default 16
	Lease    time.Duration // lease length; renewed every Lease/3; default 15s
	Poll     time.Duration // how often an idle engine looks for due work; default 500ms
	Grace    time.Duration // how long shutdown waits for running handlers; default 30s
	// Backoff returns the delay before retry number attempt (1-based);
	// default exponential from 1s, capped at 1m, with jitter.
	Backoff func(attempt int) time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Engine runs subtasks of the tasks in a store.
type Engine struct {
	store    dbplane.TaskStore
	cfg      Config
	log      *slog.Logger
	handlers map[string]Handler
	wake     chan struct{}

	mu      sync.Mutex
	running map[runKey]context.CancelCauseFunc
}

var (
	errShutdown   = errors.New("engine shutting down")
	errUserCancel = errors.New("canceled by user")
)

// New returns an engine over store. Register handlers before Run.
func New(store dbplane.TaskStore, cfg Config) *Engine {
	if cfg.Executor == "" {
		cfg.Executor = defaultExecutorID()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{
		store:    store,
		cfg:      cfg,
		log:      cfg.Logger.With("executor", cfg.Executor),
		handlers: map[string]Handler{},
		wake:     make(chan struct{}, 1),
		running:  map[runKey]context.CancelCauseFunc{},
	}
}

// DefaultBackoff doubles from 1s up to 1m, with ±20% jitter so that retries
// of many subtasks do not arrive together.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 6)
	d = min(d, time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func defaultExecutorID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = cryptoRead(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

var cryptoRead = crand.Read

// Register names a handler. Plans refer to handlers by name; a subtask whose
// handler is not registered fails permanently.
func (e *Engine) Register(name string, h Handler) {
	e.handlers[name] = h
}

// Executor returns the engine's executor id.
func (e *Engine) Executor() string { return e.cfg.Executor }

// Notify wakes the engine to look for READY subtasks now, e.g. after a task
// was created or retried.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs subtasks until ctx ends, then stops claiming, waits up
// to Grace for running handlers, cancels those still running, and returns
// their leases so that another engine can pick them up at once.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.cfg.Workers)
	workCtx, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopWork(errShutdown)

	keeperDone := make(chan struct{})
	go func() {
		defer close(keeperDone)
		e.keepLeases(workCtx)
	}()

	e.dispatch(ctx, workCtx, sem, &wg)

	e.log.Info("task engine stopping", "running", e.runningCount(), "grace", e.cfg.Grace)
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(e.cfg.Grace):
		e.log.Warn("grace period over; canceling running subtasks")
		e.cancelAll(errShutdown)
		<-drained
	}
	stopWork(errShutdown)
	<-keeperDone
	releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return e.store.ReleaseSubtasks(releaseCtx, e.cfg.Executor)
}

// dispatch claims as many subtasks as there are free workers, and sleeps
// until woken, a worker frees up, or the poll interval passes.
func (e *Engine) dispatch(ctx, workCtx context.Context, sem chan struct{}, wg *sync.WaitGroup) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.wake:
		}
		for ctx.Err() == nil {
			free := cap(sem) - len(sem)
			if free == 0 {
				break
			}
			subs, err := e.store.ClaimSubtasks(ctx, e.cfg.Executor, free, e.cfg.Lease)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("claiming subtasks failed", "err", err)
				}
				break
			}
			for _, s := range subs {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done(); e.Notify() }()
					e.execute(workCtx, s)
				}()
			}
			if len(subs) < free {
				break
			}
		}
		timer.Reset(e.cfg.Poll)
	}
}

// keepLeases renews this engine's leases, cancels subtasks users asked to
// cancel, and returns expired leases of dead engines to READY.
func (e *Engine) keepLeases(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		canceling, err := e.store.RenewLeases(ctx, e.cfg.Executor, e.cfg.Lease)
		if err != nil {
			e.log.Error("renewing leases failed", "err", err)
		}
		for _, id := range canceling {
			e.cancel(id, errUserCancel)
		}
		if n, err := e.store.ExpireLeases(ctx); err != nil {
			e.log.Error("expiring leases failed", "err", err)
		} else if n > 0 {
			e.log.Warn("expired leases returned to READY", "subtasks", n)
			e.Notify()
		}
	}
}

func (e *Engine) cancel(id int64, cause error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, c := range e.running {
		if k.id == id {
			c(cause)
		}
	}
}

func (e *Engine) cancelAll(cause error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.running {
		c(cause)
	}
}

func (e *Engine) runningCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running)
}
