package taskengine_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// The parent test hands the child process its store and executor id in
// these variables; without them TestEngineChild skips.
const (
	childDSNEnv      = "DBPLANE_ENGINE_CHILD_DSN"
	childExecutorEnv = "DBPLANE_ENGINE_CHILD_EXECUTOR"
	childWorkers     = 6
	childLease       = time.Second
)

// TestEngineChild is the engine process that TestKillNineResumesDAG starts
// and kills: it runs an engine whose handler writes side effects into the
// store's database until it is killed (or a safety timeout ends it).
func TestEngineChild(t *testing.T) {
	dsn := os.Getenv(childDSNEnv)
	if dsn == "" {
		t.Skip("runs only as the child process of TestKillNineResumesDAG")
	}
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := taskengine.New(db, taskengine.Config{
		Executor: os.Getenv(childExecutorEnv),
		Workers:  childWorkers,
		Lease:    childLease,
		Poll:     50 * time.Millisecond,
		Backoff:  func(int) time.Duration { return 10 * time.Millisecond },
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	e.Register("effect", sideEffect(db))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // outlive no forgetful parent
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// sideEffect is an idempotent handler, as product handlers must be: it
// records its effect with insert-if-absent, so a re-run after a kill changes
// nothing. It also appends to executions, which is not idempotent, to count
// the runs. The random pauses spread the kills over every point of a run.
func sideEffect(db *sqlstore.DB) taskengine.Handler {
	return func(ctx context.Context, run *taskengine.Run) error {
		if _, err := db.SQL().ExecContext(ctx, rebind(db, `INSERT INTO executions (subtask_id) VALUES (?)`), run.Subtask.ID); err != nil {
			return err
		}
		if err := pause(ctx, rand.N(20*time.Millisecond)); err != nil {
			return err
		}
		if _, err := db.SQL().ExecContext(ctx, rebind(db, `INSERT INTO side_effects (subtask_id) VALUES (?)
			ON CONFLICT (subtask_id) DO NOTHING`), run.Subtask.ID); err != nil {
			return err
		}
		return pause(ctx, rand.N(20*time.Millisecond))
	}
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rebind turns `?` placeholders into PostgreSQL's `$n`.
func rebind(db *sqlstore.DB, query string) string {
	if db.Dialect() != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// createEffectTables creates the test tables: side_effects keeps one row per
// subtask whose seq orders the effects as they committed; executions one
// row per handler run.
func createEffectTables(tb testing.TB, db *sqlstore.DB) {
	tb.Helper()
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if db.Dialect() == "postgres" {
		serial = "BIGSERIAL PRIMARY KEY"
	}
	for _, q := range []string{
		`CREATE TABLE side_effects (seq ` + serial + `, subtask_id BIGINT NOT NULL UNIQUE)`,
		`CREATE TABLE executions (id ` + serial + `, subtask_id BIGINT NOT NULL)`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// fiftyStepDAG returns a plan of 50 subtasks with parallel branches: a root
// fanning out to 10 and back in, 4 independent chains of 6, a separate
// chain of 3 with its own root, a join of all chains, and a final fan-out
// of 10.
func fiftyStepDAG() []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	add := func(key string, after ...string) { steps = append(steps, step(key, "effect", after...)) }
	add("root")
	var fan1 []string
	for i := range 10 {
		k := fmt.Sprintf("fan1-%d", i)
		add(k, "root")
		fan1 = append(fan1, k)
	}
	add("join1", fan1...)
	var tails []string
	for c := range 4 {
		prev := "join1"
		for i := range 6 {
			k := fmt.Sprintf("chain%d-%d", c, i)
			add(k, prev)
			prev = k
		}
		tails = append(tails, prev)
	}
	add("side-0")
	add("side-1", "side-0")
	add("side-2", "side-1")
	add("join2", append(tails, "side-2")...)
	for i := range 10 {
		add(fmt.Sprintf("fan2-%d", i), "join2")
	}
	return steps
}

// child is one engine process.
type child struct {
	cmd      *exec.Cmd
	executor string
}

// startChild re-executes the test binary as TestEngineChild on dsn. Its
// output goes to logf, which the test prints if it fails.
func startChild(tb testing.TB, dsn, executor string, logf *os.File) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineChild$", "-test.v")
	cmd.Env = append(os.Environ(), childDSNEnv+"="+dsn, childExecutorEnv+"="+executor)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the engine process: %v", err)
	}
	c := &child{cmd: cmd, executor: executor}
	tb.Cleanup(c.kill)
	return c
}

// kill sends SIGKILL: no shutdown code runs, leases are left behind.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// TestKillNineResumesDAG runs a 50-subtask DAG in an engine process that is
// killed with SIGKILL at several points and restarted. The DAG completes,
// every subtask's side effect happened exactly once and after its
// upstreams', and only the subtasks in flight at a kill ran again.
func TestKillNineResumesDAG(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills engine processes")
	}
	testdb.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		createEffectTables(t, db)
		task := mustCreate(t, db, 0, fiftyStepDAG()...)
		if len(task.Subtasks) != 50 {
			t.Fatalf("the plan has %d subtasks, want 50", len(task.Subtasks))
		}

		logf, err := os.Create(filepath.Join(t.TempDir(), "children.log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := os.ReadFile(logf.Name())
				t.Logf("engine processes' output:\n%s", out)
			}
		})

		successful := func() int {
			n := 0
			for _, s := range mustFind(t, db, task.ID).Subtasks {
				if s.Status == dbplane.SubtaskSuccessful {
					n++
				}
			}
			return n
		}
		killPoints := []int{3, 12, 25, 36} // 36: several levels remain, so a kill never comes after the end
		inFlight := 0                      // subtasks leased by a child when it died
		for i, k := range killPoints {
			c := startChild(t, dsn, fmt.Sprintf("child-%d", i), logf)
			waitFor(t, fmt.Sprintf("%d subtasks SUCCESSFUL", k), func() (bool, error) { return successful() >= k, nil })
			c.kill()

			after := mustFind(t, db, task.ID)
			if after.Status != dbplane.TaskRunning {
				t.Fatalf("kill %d came too late: the task is already %s", i+1, after.Status)
			}
			held := 0
			for _, s := range after.Subtasks {
				if s.Executor == c.executor && s.Status == dbplane.SubtaskRunning {
					held++
				}
			}
			t.Logf("kill %d at %d SUCCESSFUL subtasks: %d leased to the dead process", i+1, successful(), held)
			inFlight += held
		}
		startChild(t, dsn, "child-final", logf)
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)

		for _, s := range task.Subtasks {
			if s.Status != dbplane.SubtaskSuccessful {
				t.Errorf("subtask %s is %s", s.Name, s.Status)
			}
		}
		// Exactly one side effect per subtask, and no other rows.
		seq := map[int64]int64{}
		rows, err := db.SQL().QueryContext(ctx, `SELECT subtask_id, seq FROM side_effects`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			if _, dup := seq[id]; dup {
				t.Errorf("subtask %d has two side effects", id)
			}
			seq[id] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(seq) != 50 {
			t.Errorf("%d side effects, want 50", len(seq))
		}
		for _, s := range task.Subtasks {
			if _, ok := seq[s.ID]; !ok {
				t.Errorf("subtask %s has no side effect", s.Name)
			}
			for _, up := range s.Upstreams {
				if seq[up] >= seq[s.ID] {
					t.Errorf("subtask %s's side effect (%d) does not follow its upstream %d's (%d)", s.Name, seq[s.ID], up, seq[up])
				}
			}
		}

		// Re-execution happened only for subtasks in flight at a kill.
		var executions, distinct int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT subtask_id) FROM executions`).
			Scan(&executions, &distinct); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d executions of 50 subtasks after %d kills with %d subtasks in flight", executions, len(killPoints), inFlight)
		if distinct != 50 || executions < 50 {
			t.Errorf("%d executions of %d distinct subtasks, want at least 50 of 50", executions, distinct)
		}
		if extra := executions - 50; extra > inFlight || inFlight > len(killPoints)*childWorkers {
			t.Errorf("%d re-executions, but only %d subtasks were in flight at the kills (at most %d possible)",
				extra, inFlight, len(killPoints)*childWorkers)
		}
		if inFlight == 0 {
			t.Error("no kill interrupted a running subtask: the test did not exercise lease expiry")
		}
	})
}
