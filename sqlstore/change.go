package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/dbplane/dbplane"
)

func taskPasswordAAD(taskID int64) []byte {
	return []byte("task-password:" + strconv.FormatInt(taskID, 10))
}

// StartPasswordChange moves a cluster to status and creates the task of
// plan with password sealed as its secret, in one transaction, unless the
// cluster's status is one of refuse.
func (db *DB) StartPasswordChange(ctx context.Context, clusterID int64, status dbplane.ClusterStatus,
	refuse []dbplane.ClusterStatus, password string, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	var task *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		if err := setClusterStatus(ctx, tx, clusterID, status, refuse); err != nil {
			return err
		}
		plan.ClusterID = clusterID
		var err error
		if task, err = createTask(ctx, tx, plan); err != nil {
			return err
		}
		ct, keyID, err := db.seal("task passwords", password, taskPasswordAAD(task.ID))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO task_secrets (task_id, ciphertext, key_id) VALUES (?, ?, ?)`, task.ID, ct, keyID)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.StartPasswordChange", err)
	}
	return task, nil
}

// TaskPassword returns the new password of a password change task.
func (db *DB) TaskPassword(ctx context.Context, taskID int64) (string, error) {
	var pw string
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		pw, err = taskPassword(ctx, tx, taskID)
		return err
	})
	return pw, dbplane.E("sqlstore.TaskPassword", err)
}

func taskPassword(ctx context.Context, tx *Tx, taskID int64) (string, error) {
	var (
		ct    []byte
		keyID string
	)
	err := tx.QueryRow(ctx, `SELECT ciphertext, key_id FROM task_secrets WHERE task_id = ?`, taskID).Scan(&ct, &keyID)
	if isNoRows(err) {
		return "", dbplane.Errorf(dbplane.KindNotFound, "task %d has no new password", taskID)
	} else if err != nil {
		return "", fmt.Errorf("while reading the password of task %d: %w", taskID, err)
	}
	return tx.db.open(fmt.Sprintf("the password of task %d", taskID), ct, keyID, taskPasswordAAD(taskID))
}

// CommitTaskPassword seals the task's new password as its cluster's admin
// password and deletes the task's copy, in one transaction.
func (db *DB) CommitTaskPassword(ctx context.Context, taskID int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		pw, err := taskPassword(ctx, tx, taskID)
		if dbplane.ErrorKind(err) == dbplane.KindNotFound {
			return nil // committed by an earlier run
		} else if err != nil {
			return err
		}
		var clusterID int64
		if err := tx.QueryRow(ctx, `SELECT cluster_id FROM tasks WHERE id = ?`, taskID).Scan(&clusterID); err != nil {
			return fmt.Errorf("while reading the cluster of task %d: %w", taskID, err)
		}
		ct, keyID, err := db.seal("cluster admin passwords", pw, clusterPasswordAAD(clusterID))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE clusters SET password_ciphertext = ?, password_key_id = ?, updated_at = ? WHERE id = ?`,
			ct, keyID, micros(tx.now), clusterID); err != nil {
			return fmt.Errorf("while storing the cluster password: %w", err)
		}
		_, err = tx.Exec(ctx, `DELETE FROM task_secrets WHERE task_id = ?`, taskID)
		return err
	})
	return dbplane.E("sqlstore.CommitTaskPassword", err)
}

// SetClusterParameters merges change into the parameters of the cluster's
// stored spec.
func (db *DB) SetClusterParameters(ctx context.Context, clusterID int64, change map[string]string) error {
	err := db.write(ctx, func(tx *Tx) error {
		var raw string
		err := tx.QueryRow(ctx, `SELECT spec FROM clusters WHERE id = ?`+db.forUpdate(), clusterID).Scan(&raw)
		if isNoRows(err) {
			return dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", clusterID)
		} else if err != nil {
			return err
		}
		var spec dbplane.ClusterSpec
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			return fmt.Errorf("while decoding the spec of cluster %d: %w", clusterID, err)
		}
		spec.Parameters = dbplane.MergeParameters(spec.Parameters, change)
		if len(spec.Parameters) == 0 {
			spec.Parameters = nil
		}
		b, err := json.Marshal(spec.Redacted())
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE clusters SET spec = ?, updated_at = ? WHERE id = ?`, string(b), micros(tx.now), clusterID)
		return err
	})
	return dbplane.E("sqlstore.SetClusterParameters", err)
}

// resealTaskPasswords re-encrypts the new passwords of password change
// tasks that have not committed them yet.
func (db *DB) resealTaskPasswords(ctx context.Context, tx *Tx) (int, error) {
	stale, err := db.staleSecrets(ctx, tx, `SELECT CAST(task_id AS TEXT), ciphertext, key_id FROM task_secrets WHERE key_id <> ?`)
	if err != nil {
		return 0, fmt.Errorf("while reading task passwords: %w", err)
	}
	for _, r := range stale {
		id, err := strconv.ParseInt(r.id, 10, 64)
		if err != nil {
			return 0, err
		}
		what := fmt.Sprintf("the password of task %d", id)
		pw, err := db.open(what, r.ciphertext, r.keyID, taskPasswordAAD(id))
		if err != nil {
			return 0, err
		}
		ct, keyID, err := db.seal(what, pw, taskPasswordAAD(id))
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE task_secrets SET ciphertext = ?, key_id = ? WHERE task_id = ?`, ct, keyID, id); err != nil {
			return 0, fmt.Errorf("while storing %s: %w", what, err)
		}
	}
	return len(stale), nil
}
