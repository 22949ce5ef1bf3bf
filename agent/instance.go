package agent

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/dbplane/dbplane"
)

// instanceIDRE keeps instance ids usable as file names.
var instanceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

func validID(id string) error {
	if !instanceIDRE.MatchString(id) {
		return dbplane.Invalid(dbplane.FieldError{Field: "id",
			Message: "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"})
	}
	return nil
}

// validInstance checks an instance spec. Database processes never run as
// root: a compromised database must not own the host.
func (h *Host) validInstance(inst dbplane.Instance) error {
	if err := validID(inst.ID); err != nil {
		return err
	}
	u, err := lookupUser("user", inst.User)
	if err != nil {
		return err
	}
	if u.uid == 0 {
		return dbplane.Invalid(dbplane.FieldError{Field: "user", Message: "instances must not run as root"})
	}
	if len(inst.Argv) == 0 || !filepath.IsAbs(inst.Argv[0]) {
		return dbplane.Invalid(dbplane.FieldError{Field: "argv", Message: "must start with the absolute path of the program"})
	}
	for i, e := range inst.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return dbplane.Invalid(dbplane.FieldError{Field: fmt.Sprintf("env[%d]", i), Message: "must be KEY=value"})
		}
	}
	for _, f := range []struct{ name, path string }{{"dir", inst.Dir}, {"pid_file", inst.PIDFile}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			return dbplane.Invalid(dbplane.FieldError{Field: f.name, Message: "must be an absolute path"})
		}
	}
	if inst.Log != "" {
		if _, err := h.dataRel("log", inst.Log); err != nil {
			return err
		}
	}
	if _, err := h.stopSignal(inst); err != nil {
		return err
	}
	if r := inst.Resources; r != nil && (r.CPUMillis < 0 || r.MemoryMB < 0) {
		return dbplane.Invalid(dbplane.FieldError{Field: "resources", Message: "must not be negative"})
	}
	return nil
}

// stopSignals are the signals an instance may name to be stopped with:
// the clean shutdowns of the engines dbplane runs (SIGINT: PostgreSQL's
// fast shutdown; SIGTERM: MariaDB's and Redis's shutdown; SIGQUIT:
// PostgreSQL's immediate shutdown).
var stopSignals = map[string]syscall.Signal{
	"SIGINT":  syscall.SIGINT,
	"SIGTERM": syscall.SIGTERM,
	"SIGQUIT": syscall.SIGQUIT,
}

// stopSignal returns the signal that stops inst: its own, or the host's
// default when it names none.
func (h *Host) stopSignal(inst dbplane.Instance) (syscall.Signal, error) {
	if inst.StopSignal == "" {
		return h.cfg.StopSignal, nil
	}
	sig, ok := stopSignals[inst.StopSignal]
	if !ok {
		return 0, dbplane.Invalid(dbplane.FieldError{Field: "stop_signal",
			Message: fmt.Sprintf("must be one of %s", strings.Join(slices.Sorted(maps.Keys(stopSignals)), ", "))})
	}
	return sig, nil
}

// sameSpec reports whether two specs describe the same process. The stop
// signal and the limits are not part of it: they change without a restart.
func sameSpec(a, b dbplane.Instance) bool {
	return a.ID == b.ID && a.User == b.User && slices.Equal(a.Argv, b.Argv) && slices.Equal(a.Env, b.Env) &&
		a.Dir == b.Dir && a.PIDFile == b.PIDFile && a.Log == b.Log
}

// sameControls reports whether two specs stop and limit their process
// alike.
func sameControls(a, b dbplane.Instance) bool {
	return a.StopSignal == b.StopSignal && limitsOf(a) == limitsOf(b)
}

// limitsOf returns an instance's resources; none asked for is zero.
func limitsOf(inst dbplane.Instance) dbplane.Resources {
	if inst.Resources == nil {
		return dbplane.Resources{}
	}
	return *inst.Resources
}

// openLog opens an instance's log for appending, owned by its user.
func (h *Host) openLog(path string, u *osUser) (*os.File, error) {
	rel, err := h.dataRel("log", path)
	if err != nil {
		return nil, err
	}
	f, err := h.dataRoot.OpenFile(rel, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, rootError("log", path, fmt.Errorf("while opening the log: %w", err))
	}
	if err := f.Chown(int(u.uid), int(u.gid)); err != nil {
		f.Close()
		return nil, fmt.Errorf("while changing the owner of %s: %w", path, err)
	}
	return f, nil
}

// StartInstance starts a supervised process, or does nothing if the
// instance is already supervised with the same spec (it may be waiting to
// be restarted, which then happens at once). A new stop signal or new
// limits of a supervised instance are taken over without a restart; a
// supervised instance with a different process spec is a conflict: stop it
// first. The instance is persisted before its process starts, so an agent
// that dies in between starts it when it comes back.
func (h *Host) StartInstance(ctx context.Context, inst dbplane.Instance) error {
	const op = "agent.StartInstance"
	if err := h.validInstance(inst); err != nil {
		return dbplane.E(op, err)
	}
	unlock, err := h.sup.lock(ctx, inst.ID)
	if err != nil {
		return dbplane.E(op, err)
	}
	defer unlock()
	var cgroup string // a stopped instance's, kept so that removing the new one removes it
	if p := h.sup.get(inst.ID); p != nil {
		p.mu.Lock()
		stopped, spec, stopping := p.st.Stopped, p.st.Instance, p.stopped
		cgroup = p.st.Cgroup
		p.mu.Unlock()
		if !stopped {
			if !sameSpec(spec, inst) {
				return dbplane.Permanent(dbplane.E(op, dbplane.Errorf(dbplane.KindConflict,
					"instance %s is supervised with a different spec; stop it first", inst.ID)))
			}
			if !sameControls(spec, inst) {
				if err := p.updateControls(inst); err != nil {
					return dbplane.E(op, err)
				}
			}
			select {
			case p.kick <- struct{}{}:
			default:
			}
			return nil
		}
		if stopping != nil {
			select {
			case <-stopping:
			case <-ctx.Done():
				return dbplane.E(op, ctx.Err())
			}
		}
	}
	p := h.sup.newProc(instanceState{Instance: inst, Cgroup: cgroup})
	if err := h.saveState(&p.st); err != nil {
		return dbplane.E(op, err)
	}
	if err := h.sup.put(p); err != nil {
		return dbplane.E(op, err) // the agent starts it when it comes back
	}
	p.mu.Lock()
	err = p.launchLocked()
	if err != nil {
		// What cannot start now will not start later: record it stopped
		// rather than retry it forever.
		p.st.Stopped, p.ending = true, true
		close(p.done)
	}
	p.persistLocked()
	pid := p.st.PID
	p.mu.Unlock()
	if err != nil {
		return dbplane.E(op, err)
	}
	h.sup.supervise(p)
	h.log.Info("started instance", "instance", inst.ID, "pid", pid)
	return nil
}

// StopInstance stops a supervised process (the stop signal, then SIGKILL
// to its process group after the stop timeout) and stops supervising it;
// the stop is persisted, so the agent does not start it again when it
// restarts. Stopping a stopped instance succeeds; KindNotFound if the
// agent does not know it.
func (h *Host) StopInstance(ctx context.Context, id string) error {
	const op = "agent.StopInstance"
	if err := validID(id); err != nil {
		return dbplane.E(op, err)
	}
	unlock, err := h.sup.lock(ctx, id)
	if err != nil {
		return dbplane.E(op, err)
	}
	defer unlock()
	p := h.sup.get(id)
	if p == nil {
		return dbplane.E(op, notFound(id))
	}
	return dbplane.E(op, waitStop(ctx, p))
}

// waitStop stops p and waits until it has stopped or ctx ends; the stop
// goes on if ctx ends first.
func waitStop(ctx context.Context, p *proc) error {
	done, err := p.stop()
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func notFound(id string) error {
	return dbplane.Errorf(dbplane.KindNotFound, "instance %s is not known to this agent", id)
}

// InstanceStatus reports a supervised process. KindNotFound if the agent
// does not know it.
func (h *Host) InstanceStatus(ctx context.Context, id string) (*dbplane.InstanceStatus, error) {
	const op = "agent.InstanceStatus"
	if err := validID(id); err != nil {
		return nil, dbplane.E(op, err)
	}
	p := h.sup.get(id)
	if p == nil {
		return nil, dbplane.E(op, notFound(id))
	}
	return p.statusReport(), nil
}

// RemoveInstance stops an instance if it runs, forgets it, removes its
// cgroup, and removes the given paths. Every path must lie strictly inside the data root or the
// state directory (but not in the agent's record of instances); otherwise
// nothing is done. Removing an unknown instance still removes the paths, so
// a retry after a partial removal finishes it.
func (h *Host) RemoveInstance(ctx context.Context, id string, paths []string) error {
	const op = "agent.RemoveInstance"
	if err := validID(id); err != nil {
		return dbplane.E(op, err)
	}
	targets := make([]removal, len(paths))
	for i, path := range paths {
		t, err := h.removalOf(fmt.Sprintf("paths[%d]", i), path)
		if err != nil {
			return dbplane.E(op, err)
		}
		targets[i] = t
	}
	unlock, err := h.sup.lock(ctx, id)
	if err != nil {
		return dbplane.E(op, err)
	}
	defer unlock()
	var cgroup string
	if p := h.sup.get(id); p != nil {
		if err := waitStop(ctx, p); err != nil {
			return dbplane.E(op, err)
		}
		p.mu.Lock()
		cgroup = p.st.Cgroup
		p.mu.Unlock()
	}
	if err := h.deleteState(id); err != nil {
		return dbplane.E(op, err)
	}
	h.sup.forget(id)
	if err := h.cgroups.remove(id, cgroup); err != nil {
		return dbplane.E(op, err)
	}
	for _, t := range targets {
		if err := t.root.RemoveAll(t.rel); err != nil {
			return dbplane.E(op, rootError("paths", t.path, fmt.Errorf("while removing %s: %w", t.path, err)))
		}
	}
	h.log.Info("removed instance", "instance", id, "paths", paths)
	return nil
}

// removal is a path to remove, relative to the root it lies in.
type removal struct {
	root *os.Root
	rel  string
	path string
}

// removalOf places path in the data root or the state directory.
func (h *Host) removalOf(field, path string) (removal, error) {
	if rel, err := relTo(h.cfg.DataRoot, field, path); err == nil {
		return removal{h.dataRoot, rel, path}, nil
	}
	rel, err := relTo(h.cfg.StateDir, field, path)
	if err != nil || rel == instancesDir || strings.HasPrefix(rel, instancesDir+"/") {
		return removal{}, dbplane.Invalid(dbplane.FieldError{Field: field,
			Message: fmt.Sprintf("must lie inside %s or %s", h.cfg.DataRoot, h.cfg.StateDir)})
	}
	return removal{h.stateRoot, rel, path}, nil
}
