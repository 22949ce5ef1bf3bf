package taskengine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// TestRunRedactsSecrets: a secret a handler registers is replaced in its
// log lines and in the error the subtask records, while the error keeps its
// kind (a permanent error still fails at once).
func TestRunRedactsSecrets(t *testing.T) {
	const secret = "Sup3r-Secret-Pa55"
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("leaky", func(ctx context.Context, run *taskengine.Run) error {
			taskengine.Redact(ctx, secret, "")
			run.Logf(ctx, "running redis-cli -a %s ping", secret)
			return dbplane.Permanent(fmt.Errorf("AUTH %s failed", secret))
		})
		e.Register("panicky", func(ctx context.Context, run *taskengine.Run) error {
			run.Redact(secret)
			panic("bad password " + secret)
		})
		start(t, e)
		task := mustCreate(t, db, 0, step("leaky", "leaky"), step("panicky", "panicky"))
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		if p := byName(t, task, "panicky"); strings.Contains(p.Error, secret) || !strings.Contains(p.Error, "panicked") {
			t.Errorf("panicking subtask's error %q: want the panic with the secret redacted", p.Error)
		}
		s := byName(t, task, "leaky")
		if strings.Contains(s.Error, secret) || !strings.Contains(s.Error, "AUTH "+dbplane.Redacted+" failed") {
			t.Errorf("subtask error %q: want the secret redacted", s.Error)
		}
		if s.Attempts != 1 {
			t.Errorf("attempts %d: the redacted error lost its permanence", s.Attempts)
		}
		lines, err := db.SubtaskLog(t.Context(), task.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			t.Fatal("no log lines")
		}
		for _, l := range lines {
			if strings.Contains(l.Message, secret) {
				t.Errorf("log line %q holds the secret", l.Message)
			}
		}
	})
}
