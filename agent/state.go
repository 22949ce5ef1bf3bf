package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/dbplane/dbplane"
)

// instancesDir, under the state directory, holds one <id>.json per
// instance the agent knows.
const instancesDir = "instances"

// instanceState is what the agent keeps of an instance across its own
// restarts: the spec, whether it was stopped on purpose, the process it
// last started, identified by pid and start time so that a reused pid is
// not mistaken for it, and the cgroup it put the process in, so that the
// cgroup is removed with the instance even if the cgroup root changed.
type instanceState struct {
	Instance   dbplane.Instance `json:"instance"`
	Stopped    bool             `json:"stopped"`
	PID        int              `json:"pid,omitempty"`
	StartTicks uint64           `json:"start_ticks,omitempty"`
	Restarts   int              `json:"restarts"`
	Cgroup     string           `json:"cgroup,omitempty"`
}

func stateFile(id string) string { return filepath.Join(instancesDir, id+".json") }

// saveState writes an instance's state atomically, so a crash leaves the
// old state or the new one.
func (h *Host) saveState(st *instanceState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("while encoding the state of instance %s: %w", st.Instance.ID, err)
	}
	if err := writeAtomic(h.stateRoot, stateFile(st.Instance.ID), b, 0, 0, 0o600); err != nil {
		return fmt.Errorf("while saving the state of instance %s: %w", st.Instance.ID, err)
	}
	return nil
}

// deleteState forgets an instance; forgetting an unknown one succeeds.
func (h *Host) deleteState(id string) error {
	if err := h.stateRoot.Remove(stateFile(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("while deleting the state of instance %s: %w", id, err)
	}
	return nil
}

// loadStates reads every persisted instance. A file that cannot be read is
// logged and skipped: one bad file must not keep the agent, and the other
// instances' supervision, from starting.
func (h *Host) loadStates() ([]*instanceState, error) {
	entries, err := fs.ReadDir(h.stateRoot.FS(), instancesDir)
	if err != nil {
		return nil, fmt.Errorf("while listing persisted instances: %w", err)
	}
	var states []*instanceState
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := h.stateRoot.ReadFile(stateFile(id))
		if err != nil {
			h.log.Error("cannot read a persisted instance", "instance", id, "error", err)
			continue
		}
		st := new(instanceState)
		if err := json.Unmarshal(b, st); err != nil || st.Instance.ID != id {
			h.log.Error("cannot decode a persisted instance", "instance", id, "error", err)
			continue
		}
		states = append(states, st)
	}
	return states, nil
}
