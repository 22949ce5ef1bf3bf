package agent

import (
	"context"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// Restart backoff: the first restart after a crash waits backoffMin, each
// further one twice as long up to backoffMax; a process that ran for
// backoffReset before crashing starts the sequence over.
const (
	backoffMin   = time.Second
	backoffMax   = 30 * time.Second
	backoffReset = 60 * time.Second
	// pollEvery is how often the agent checks a re-adopted process, which
	// is not its child and so cannot be waited for.
	pollEvery = 500 * time.Millisecond
	// killWait bounds the wait for a killed process to disappear.
	killWait = 10 * time.Second
)

// supervisor keeps the host's instances running.
type supervisor struct {
	h     *Host
	log   *slog.Logger
	mu    sync.Mutex
	procs map[string]*proc
	locks map[string]chan struct{} // one operation per instance at a time

	closing   bool          // guarded by mu: no new goroutines
	closed    chan struct{} // closed by close: every goroutine returns
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// errClosing refuses work that would outlive the supervisor.
var errClosing = dbplane.Errorf(dbplane.KindUnavailable, "the agent is shutting down")

// spawn runs f in a goroutine that close waits for, and reports whether it
// did: a closing supervisor starts nothing. Lock order: a proc's mu, then
// the supervisor's.
func (s *supervisor) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func newSupervisor(h *Host) *supervisor {
	return &supervisor{
		h:      h,
		log:    h.log,
		procs:  make(map[string]*proc),
		locks:  make(map[string]chan struct{}),
		closed: make(chan struct{}),
	}
}

// proc is one supervised instance.
type proc struct {
	s *supervisor

	mu      sync.Mutex
	st      instanceState // what is persisted
	running bool
	since   time.Time     // when running last changed
	exited  chan struct{} // closed once the current process is gone; nil if none was started
	status  string        // how the current process ended, when known
	limits  limits        // how the current process is confined
	ending  bool          // no more launches: a stop was asked for or the agent closes
	stopped chan struct{} // closed when an asked-for stop has finished; nil until asked

	quit     chan struct{} // closed to end supervise
	quitOnce sync.Once
	kick     chan struct{} // restart now rather than after the backoff
	done     chan struct{} // closed when supervise has returned
}

func (s *supervisor) newProc(st instanceState) *proc {
	note := s.h.cgroups.note
	if note == "" {
		note = "the instance is not running"
	}
	return &proc{
		s:      s,
		st:     st,
		limits: limits{note: note},
		since:  time.Now(),
		quit:   make(chan struct{}),
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

// lock serializes the operations on one instance; it returns the unlock.
func (s *supervisor) lock(ctx context.Context, id string) (func(), error) {
	s.mu.Lock()
	l, ok := s.locks[id]
	if !ok {
		l = make(chan struct{}, 1)
		s.locks[id] = l
	}
	s.mu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *supervisor) get(id string) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[id]
}

// put registers p, unless the supervisor is closing.
func (s *supervisor) put(p *proc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errClosing
	}
	s.procs[p.st.Instance.ID] = p
	return nil
}

func (s *supervisor) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, id)
}

// readopt re-adopts the persisted instances, at the agent's start.
func (s *supervisor) readopt() error {
	states, err := s.h.loadStates()
	if err != nil {
		return err
	}
	for _, st := range states {
		p := s.newProc(*st)
		if err := s.put(p); err != nil {
			return err
		}
		p.mu.Lock()
		if st.Stopped {
			// Only an agent that died while stopping it leaves a stopped
			// instance running: finish the job.
			close(p.done)
			if st.PID > 0 && sameProcess(st.PID, st.StartTicks) {
				p.adoptLocked(st.PID)
				p.stopLocked()
			}
			p.mu.Unlock()
			continue
		}
		if pid := p.findLocked(); pid > 0 {
			p.adoptLocked(pid)
			p.confineLocked(pid)
			s.log.Info("re-adopted a running instance", "instance", st.Instance.ID, "pid", pid)
		} else if err := p.launchLocked(); err != nil {
			s.log.Error("cannot start an instance", "instance", st.Instance.ID, "error", err)
		} else {
			s.log.Info("started an instance that was not running", "instance", st.Instance.ID, "pid", p.st.PID)
		}
		p.persistLocked()
		p.mu.Unlock()
		s.supervise(p)
	}
	return nil
}

// close ends supervision and waits for the supervisor's goroutines. The
// processes keep running.
func (s *supervisor) close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		procs := make([]*proc, 0, len(s.procs))
		for _, p := range s.procs {
			procs = append(procs, p)
		}
		s.mu.Unlock()
		for _, p := range procs {
			p.mu.Lock()
			p.ending = true
			p.mu.Unlock()
			p.endSupervision()
		}
		close(s.closed)
		s.wg.Wait()
	})
}

// supervise starts the goroutine that restarts p's process whenever it
// exits on its own.
func (s *supervisor) supervise(p *proc) {
	if !s.spawn(func() {
		defer close(p.done)
		p.superviseLoop()
	}) {
		close(p.done)
	}
}

func (p *proc) endSupervision() { p.quitOnce.Do(func() { close(p.quit) }) }

// superviseLoop waits for the process to exit and restarts it with
// backoff, until told to quit.
func (p *proc) superviseLoop() {
	delay := backoffMin
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-exited:
		case <-p.quit:
			return
		}
		p.mu.Lock()
		if p.ending {
			p.mu.Unlock()
			return
		}
		ran := time.Since(p.since)
		p.running, p.since = false, time.Now()
		if p.status == "" {
			p.status = "unknown: not the agent's child"
		}
		if ran >= backoffReset {
			delay = backoffMin
		}
		p.s.log.Warn("instance exited; restarting it", "instance", p.st.Instance.ID, "pid", p.st.PID,
			"status", p.status, "ran", ran.Round(time.Millisecond), "in", delay)
		p.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.kick:
			t.Stop()
		case <-p.quit:
			t.Stop()
			return
		}
		delay = min(delay*2, backoffMax)
		p.mu.Lock()
		if !p.ending {
			p.st.Restarts++
			if err := p.launchLocked(); err != nil {
				p.s.log.Error("cannot restart an instance", "instance", p.st.Instance.ID, "error", err)
			}
			p.persistLocked()
		}
		p.mu.Unlock()
	}
}

// launchLocked starts the instance's process and watches it; p.mu is held.
// A failed start counts as an immediate exit, so the loop backs off.
func (p *proc) launchLocked() error {
	exited := make(chan struct{})
	p.exited, p.status = exited, ""
	cmd, err := p.s.h.launch(p.st.Instance)
	if err != nil {
		p.running, p.since, p.st.PID, p.st.StartTicks = false, time.Now(), 0, 0
		close(exited)
		return err
	}
	pid := cmd.Process.Pid
	_, ticks, _ := procStat(pid)
	p.running, p.since, p.st.PID, p.st.StartTicks = true, time.Now(), pid, ticks
	p.confineLocked(pid)
	// The agent's own child: Wait reaps it, so it never lingers as a
	// zombie. This goroutine outlives close if the process does, which is
	// what keeps reaping it.
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if p.exited == exited {
			p.status = cmd.ProcessState.String()
			if err != nil && cmd.ProcessState == nil {
				p.status = err.Error()
			}
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// confineLocked puts the instance's running process pid in its cgroup with
// its limits; p.mu is held and the caller persists the state.
func (p *proc) confineLocked(pid int) {
	dir, l := p.s.h.cgroups.confine(p.st.Instance, pid)
	if dir != "" {
		p.st.Cgroup = dir
	}
	if !l.enforced && l.note != p.limits.note && p.st.Instance.Resources != nil {
		p.s.log.Warn("instance runs without its resource limits", "instance", p.st.Instance.ID, "reason", l.note)
	}
	p.limits = l
}

// updateControls takes over the stop signal and limits of inst, a spec
// of the same process, and applies the limits to the running process at
// once.
func (p *proc) updateControls(inst dbplane.Instance) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Instance.StopSignal, st.Instance.Resources = inst.StopSignal, inst.Resources
	if err := p.s.h.saveState(&st); err != nil {
		return err
	}
	p.st = st
	if p.running {
		p.confineLocked(p.st.PID)
		p.persistLocked()
	}
	p.s.log.Info("changed an instance's stop signal or limits", "instance", inst.ID,
		"stop_signal", inst.StopSignal, "resources", limitsOf(inst))
	return nil
}

// adoptLocked watches a running process the agent did not start (in this
// life); p.mu is held.
func (p *proc) adoptLocked(pid int) {
	_, ticks, _ := procStat(pid)
	exited := make(chan struct{})
	p.exited, p.status = exited, ""
	p.running, p.st.PID, p.st.StartTicks = true, pid, ticks
	if t := startedAt(ticks); !t.IsZero() {
		p.since = t
	}
	p.s.spawn(func() {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if !sameProcess(pid, ticks) {
					close(exited)
					return
				}
			case <-p.s.closed:
				return
			}
		}
	})
}

// findLocked returns the pid of the instance's process if it still runs:
// the pid the agent recorded, if that process still exists, or else the
// pid in the instance's pid file, if that process runs the instance's
// program. p.mu is held.
func (p *proc) findLocked() int {
	if p.st.PID > 0 && sameProcess(p.st.PID, p.st.StartTicks) {
		return p.st.PID
	}
	if f := p.st.Instance.PIDFile; f != "" {
		if pid := readPIDFile(f); pid > 0 && runs(pid, p.st.Instance.Argv[0]) {
			return pid
		}
	}
	return 0
}

// persistLocked saves p's state; p.mu is held. A failure is logged: the
// process runs whether or not its record could be updated.
func (p *proc) persistLocked() {
	if err := p.s.h.saveState(&p.st); err != nil {
		p.s.log.Error("cannot persist an instance", "instance", p.st.Instance.ID, "error", err)
	}
}

// stop asks for the instance to be stopped, once, and returns a channel
// closed when it has. The stop is persisted first, so an agent that dies
// half-way finishes it when it comes back instead of restarting the
// instance.
func (p *proc) stop() (<-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped != nil {
		return p.stopped, nil
	}
	st := p.st
	st.Stopped = true
	if err := p.s.h.saveState(&st); err != nil {
		return nil, err
	}
	p.st = st
	return p.stopLocked(), nil
}

// stopLocked ends supervision and terminates the process in the
// background; p.mu is held and the stop is persisted.
func (p *proc) stopLocked() chan struct{} {
	p.stopped, p.ending = make(chan struct{}), true
	p.endSupervision()
	pid, exited := p.st.PID, p.exited
	if !p.running {
		exited = nil
	}
	stopped := p.stopped
	if !p.s.spawn(func() {
		defer close(stopped)
		<-p.done // nothing launches any more
		p.terminate(pid, exited)
	}) {
		// The agent is closing: the persisted stop is finished when it
		// comes back.
		close(stopped)
	}
	return stopped
}

// terminate asks the process to stop with the stop signal, kills its
// process group if it has not stopped within the stop timeout, and waits
// for it to be gone.
func (p *proc) terminate(pid int, exited <-chan struct{}) {
	p.mu.Lock()
	inst := p.st.Instance
	p.mu.Unlock()
	id := inst.ID
	cfg := p.s.h.cfg
	sig, err := p.s.h.stopSignal(inst)
	if err != nil {
		sig = cfg.StopSignal // validated at start: only a hand-edited state gets here
	}
	if exited != nil {
		select {
		case <-exited:
			exited = nil // gone already: its pid may be someone else's by now
		default:
		}
	}
	if exited != nil {
		if err := syscall.Kill(pid, sig); err == nil {
			p.s.log.Info("stopping instance", "instance", id, "pid", pid, "signal", sig)
		}
		if !p.wait(exited, cfg.StopTimeout) {
			p.s.log.Warn("instance did not stop in time; killing it", "instance", id, "pid", pid, "timeout", cfg.StopTimeout)
			killGroup(pid)
			if !p.wait(exited, killWait) {
				p.s.log.Error("instance survived SIGKILL", "instance", id, "pid", pid)
				return
			}
		}
	}
	p.mu.Lock()
	p.running, p.since, p.st.PID, p.st.StartTicks = false, time.Now(), 0, 0
	p.persistLocked()
	p.mu.Unlock()
}

// wait waits up to d for exited; it gives up early when the agent closes.
func (p *proc) wait(exited <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
	case <-p.s.closed:
	}
	return false
}

// killGroup kills a process and, if it leads its process group (instances
// start in a session of their own), everything in the group: a database's
// worker processes must not outlive it.
func killGroup(pid int) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		syscall.Kill(-pid, syscall.SIGKILL)
		return
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// statusReport describes p for InstanceStatus.
func (p *proc) statusReport() *dbplane.InstanceStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := &dbplane.InstanceStatus{ID: p.st.Instance.ID, Running: p.running, Restarts: p.st.Restarts, Since: p.since,
		LimitsEnforced: p.limits.enforced, LimitsNote: p.limits.note}
	if p.running {
		st.PID = p.st.PID
	}
	return st
}

// launch starts an instance's process as its user, in a session of its
// own so that it outlives the agent and no terminal signal reaches it, with
// stdout and stderr appended to its log.
func (h *Host) launch(inst dbplane.Instance) (*exec.Cmd, error) {
	u, err := lookupUser("user", inst.User)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(inst.Argv[0], inst.Argv[1:]...)
	cmd.Env = u.env(inst.Env)
	cmd.Dir = orRoot(inst.Dir)
	if inst.Log != "" {
		f, err := h.openLog(inst.Log, u)
		if err != nil {
			return nil, err
		}
		// The child gets its own descriptor; the agent's copy is not needed.
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: u.credential()}
	if err := cmd.Start(); err != nil {
		return nil, startError(inst.Argv[0], err)
	}
	return cmd, nil
}
