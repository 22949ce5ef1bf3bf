package enginetest

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
)

// EngineLog captures what an engine logs, down to debug level.
type EngineLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Logger returns a logger at debug level that writes to l.
func (l *EngineLog) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write adds p to the log.
func (l *EngineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the log so far.
func (l *EngineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Leaks is what running a plan over fakes leaves to search for secrets:
// the plan, its step log, the engine's log and the hosts.
type Leaks struct {
	Steps  []dbplane.PlanStep
	Log    *Log
	Engine *EngineLog
	// Marker stands in the engine's log at debug level: a log without it
	// proves nothing.
	Marker string
	Agents map[int64]*Agent
}

// RunLogged runs steps as RunPlan does, the engine logging at debug level
// through logger, its own, and returns what the run leaves to search for
// secrets: all but the marker and the agents.
func RunLogged(t *testing.T, e StepRunner, logger **slog.Logger, steps []dbplane.PlanStep) Leaks {
	t.Helper()
	l := Leaks{Steps: steps, Log: &Log{}, Engine: &EngineLog{}}
	*logger = l.Engine.Logger()
	if err := RunPlan(context.Background(), t, e, 1, steps, l.Log); err != nil {
		t.Fatal(err)
	}
	return l
}

// CheckKept fails t where one of secrets, by what it is, stands in a
// step's parameters or description, the step log, the engine's log, or
// the arguments or environment of a command or an instance; or when the
// engine's log lacks the marker.
func (l Leaks) CheckKept(t *testing.T, secrets map[string]string) {
	t.Helper()
	engineLog := l.Engine.String()
	for _, what := range slices.Sorted(maps.Keys(secrets)) {
		secret := secrets[what]
		for _, s := range l.Steps {
			if strings.Contains(string(s.Params), secret) || strings.Contains(s.Description, secret) {
				t.Errorf("step %q holds the %s", s.Name, what)
			}
		}
		for _, line := range l.Log.All() {
			if strings.Contains(line, secret) {
				t.Errorf("step log holds the %s: %s", what, line)
			}
		}
		if strings.Contains(engineLog, secret) {
			t.Errorf("the engine's log holds the %s", what)
		}
		l.checkHosts(t, what, secret)
	}
	if !strings.Contains(engineLog, l.Marker) {
		t.Errorf("the engine logged no %q at debug level; the leak check proves nothing:\n%s", l.Marker, engineLog)
	}
}

// checkHosts fails t where secret stands in the arguments or environment
// of a command or an instance.
func (l Leaks) checkHosts(t *testing.T, what, secret string) {
	t.Helper()
	holds := func(argv, env []string) bool {
		return strings.Contains(strings.Join(argv, " "), secret) || strings.Contains(strings.Join(env, " "), secret)
	}
	for _, id := range hosts(l.Agents) {
		a := l.Agents[id]
		for _, cmd := range a.Cmds {
			if holds(cmd.Argv, cmd.Env) {
				t.Errorf("host %d: command %v holds the %s in its arguments or environment", id, cmd.Argv, what)
			}
		}
		for _, inst := range a.Started {
			if holds(inst.Argv, inst.Env) {
				t.Errorf("host %d: instance %s holds the %s in its arguments or environment", id, inst.ID, what)
			}
		}
	}
}

// CheckNotOnStdin fails t where a command gets one of secrets on its
// standard input.
func (l Leaks) CheckNotOnStdin(t *testing.T, secrets map[string]string) {
	t.Helper()
	for _, what := range slices.Sorted(maps.Keys(secrets)) {
		for _, id := range hosts(l.Agents) {
			for _, cmd := range l.Agents[id].Cmds {
				if bytes.Contains(cmd.Stdin, []byte(secrets[what])) {
					t.Errorf("host %d: command %v gets the %s on stdin", id, cmd.Argv, what)
				}
			}
		}
	}
}

// CheckNotInFiles fails t where a file of a host holds one of secrets.
func (l Leaks) CheckNotInFiles(t *testing.T, secrets map[string]string) {
	t.Helper()
	for _, what := range slices.Sorted(maps.Keys(secrets)) {
		for _, id := range hosts(l.Agents) {
			files := l.Agents[id].Files
			for _, p := range slices.Sorted(maps.Keys(files)) {
				if bytes.Contains(files[p], []byte(secrets[what])) {
					t.Errorf("host %d: file %s holds the %s", id, p, what)
				}
			}
		}
	}
}

// CheckNoSecret fails t if a command run so far holds secret in its
// arguments or input.
func (f *Agent) CheckNoSecret(t *testing.T, secret string) {
	t.Helper()
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, cmd := range f.Cmds {
		if strings.Contains(strings.Join(cmd.Argv, " ")+string(cmd.Stdin), secret) {
			t.Fatalf("host %d ran %s with the secret in its arguments or input", f.HostID, cmd.Argv[0])
		}
	}
}

// CheckNoSecret fails t if a line logged so far holds secret.
func (l *Log) CheckNoSecret(t *testing.T, secret string) {
	t.Helper()
	for _, line := range l.All() {
		if strings.Contains(line, secret) {
			t.Fatalf("a log line holds the secret: %s", line)
		}
	}
}
